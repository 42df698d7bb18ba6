//! The child's side: a random workload from a seed, every call journaled. Before a call, its
//! intent (operation, arguments, what it is meant to leave behind) is appended to the journal
//! and fsync'd; after it, the outcome. So when the parent finds an intent without an outcome,
//! that call (at most one) was in flight at the kill: it may be there whole or not at all.
//! Everything with an "ok" outcome was acknowledged and must be there whole.

use crate::common::{CallError, Ck};
use crate::shared::{Rng, Setup, CRASH_USER, CYCLE_STEPS, KEY_FILE};
use serde_json::{json, Value};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

pub struct Journal {
    file: File,
    seq: u64,
}

impl Journal {
    pub fn create(path: &Path) -> Journal {
        Journal {
            file: File::create(path).expect("journal"),
            seq: 0,
        }
    }

    fn append(&mut self, line: Value) {
        let mut text = line.to_string();
        text.push('\n');
        self.file.write_all(text.as_bytes()).unwrap();
        // The parent may rely on this line only once it is on disk.
        self.file.sync_data().unwrap();
    }

    /// Journals the intent, calls, journals the outcome. `kind` and `note` tell the parent
    /// what to check (the names and contents the call is meant to leave behind).
    pub fn call(
        &mut self,
        ck: &Ck,
        kind: &str,
        operation: &str,
        args: Value,
        note: Value,
    ) -> Result<Value, CallError> {
        self.seq += 1;
        let seq = self.seq;
        self.append(json!({"seq": seq, "phase": "intent", "kind": kind, "op": operation, "args": args, "note": note}));
        let outcome = ck.call(operation, args);
        match &outcome {
            Ok(result) => self.append(json!({"seq": seq, "phase": "ok", "result": result})),
            Err(e) => self.append(
                json!({"seq": seq, "phase": "err", "category": e.category(), "message": e.message()}),
            ),
        }
        outcome
    }
}

/// One backup-and-restore cycle in progress: the key and the next step.
struct Cycle {
    name: String,
    step: usize,
    backup: PathBuf,
}

/// Add-KeyVaultKey's arguments: mostly an import (quick, so kills land as often in the other
/// calls and in commits), sometimes a key generated (long enough for kills before the commit).
fn new_key(rng: &mut Rng, vault: &str, name: &str, key_file: &Path) -> Value {
    if rng.below(4) == 0 {
        json!({"VaultName": vault, "Name": name})
    } else {
        json!({"VaultName": vault, "Name": name, "KeyFilePath": key_file})
    }
}

/// Runs operations until killed.
pub fn run(store: &Path, dir: &Path, trial: u64, seed: u64) -> ! {
    let ck = Ck::at(store, CRASH_USER);
    let s = Setup::default();
    let mut journal = Journal::create(&dir.join(format!("journal-{trial}.jsonl")));
    let mut rng = Rng::new(seed);
    let mut mailboxes = vec![s.base_mailbox.to_string()];
    let mut unassigned: Vec<String> = Vec::new();
    let mut sites = vec![s.base_site.to_string()];
    let mut cycle: Option<Cycle> = None;
    let key_file = dir.join(KEY_FILE);
    let mut n = 0u64;
    loop {
        n += 1;
        let tag = format!("t{trial}x{n}");
        match rng.below(100) {
            0..=11 => {
                let _ = journal.call(
                    &ck,
                    "roll",
                    "Add-KeyVaultKey",
                    new_key(&mut rng, s.vault_a, s.roll_key, &key_file),
                    json!({}),
                );
            }
            12..=27 => {
                let c = cycle.get_or_insert_with(|| Cycle {
                    name: format!("br{tag}"),
                    step: 0,
                    backup: dir.join(format!("br{tag}.backup")),
                });
                let (vault, name) = (s.vault_c, c.name.clone());
                let args = match CYCLE_STEPS[c.step] {
                    "create" => new_key(&mut rng, vault, &name, &key_file),
                    "backup" => json!({"VaultName": vault, "Name": name, "OutputFile": c.backup}),
                    "remove" => json!({"VaultName": vault, "Name": name}),
                    "purge" => json!({"VaultName": vault, "Name": name, "InRemovedState": true}),
                    _ => json!({"VaultName": vault, "InputFile": c.backup}),
                };
                let operation = match CYCLE_STEPS[c.step] {
                    "create" => "Add-KeyVaultKey",
                    "backup" => "Backup-KeyVaultKey",
                    "remove" | "purge" => "Remove-KeyVaultKey",
                    _ => "Restore-KeyVaultKey",
                };
                let note = json!({"key": name, "step": c.step});
                if journal.call(&ck, "cycle", operation, args, note).is_ok() {
                    c.step += 1;
                    if c.step == CYCLE_STEPS.len() {
                        cycle = None;
                    }
                }
            }
            28..=37 => {
                let alias = format!("m{tag}");
                // Half are created under the DEP, half under Microsoft-managed keys, to be
                // assigned the DEP later (Set-Mailbox).
                let assigned = rng.below(2) == 0;
                let mut args = json!({"Name": format!("User {alias}"), "Alias": alias, "PrimarySmtpAddress": format!("{alias}@contoso.com")});
                if assigned {
                    args["DataEncryptionPolicy"] = json!(s.dep);
                }
                let note = json!({"alias": alias, "policy": assigned.then_some(s.dep)});
                if journal
                    .call(&ck, "mailbox", "New-Mailbox", args, note)
                    .is_ok()
                {
                    if !assigned {
                        unassigned.push(alias.clone());
                    }
                    mailboxes.push(alias);
                }
            }
            38..=52 => {
                let mailbox = mailboxes[rng.below(mailboxes.len() as u64) as usize].clone();
                let (subject, body) = (format!("s{tag}"), format!("body of {tag}: {}", rng.next()));
                let args = json!({"Identity": mailbox, "Subject": subject, "Body": body});
                let _ = journal.call(
                    &ck,
                    "item",
                    "Add-MailboxItem",
                    args,
                    json!({"mailbox": mailbox, "subject": subject, "body": body}),
                );
            }
            53..=54 if !unassigned.is_empty() => {
                let alias = unassigned.remove(0);
                let args = json!({"Identity": alias, "DataEncryptionPolicy": s.dep});
                let note = json!({"alias": alias, "policy": s.dep});
                let _ = journal.call(&ck, "assign", "Set-Mailbox", args, note);
            }
            53..=56 => {
                let _ = journal.call(
                    &ck,
                    "refresh",
                    "Set-DataEncryptionPolicy",
                    json!({"Identity": s.dep, "Refresh": true}),
                    json!({}),
                );
            }
            57..=63 => {
                let url = format!("https://contoso.sharepoint.com/sites/c{tag}");
                if journal
                    .call(
                        &ck,
                        "site",
                        "New-SPOSite",
                        json!({"Url": url, "Title": tag}),
                        json!({"url": url}),
                    )
                    .is_ok()
                {
                    sites.push(url);
                }
            }
            64..=73 => {
                let site = sites[rng.below(sites.len() as u64) as usize].clone();
                let (name, value) = (
                    format!("f{tag}.txt"),
                    format!("figures of {tag}: {}", rng.next()),
                );
                let args = json!({"Site": site, "Name": name, "Value": value});
                let _ = journal.call(
                    &ck,
                    "file",
                    "Add-SPOFile",
                    args,
                    json!({"site": site, "name": name, "value": value}),
                );
            }
            74..=77 => {
                let added = journal.call(&ck, "spo-key", "Add-KeyVaultKey", json!({"VaultName": s.vault_a, "Name": s.spo_key, "KeyOps": ["wrapKey", "unwrapKey"]}), json!({}));
                if let Ok(key) = added {
                    let version = key["Version"].clone();
                    let args = json!({"KeyType": "Primary", "KeyVaultName": s.vault_a, "KeyName": s.spo_key, "KeyVersion": version});
                    let _ = journal.call(
                        &ck,
                        "spo-roll",
                        "Update-SPODataEncryptionPolicy",
                        args,
                        json!({"version": version}),
                    );
                }
            }
            78..=81 => {
                let added = journal.call(
                    &ck,
                    "aip-key",
                    "Add-KeyVaultKey",
                    json!({"VaultName": s.vault_a, "Name": s.aip_key}),
                    json!({}),
                );
                let Ok(key) = added else { continue };
                let used = journal.call(
                    &ck,
                    "aip-use",
                    "Use-AipServiceKeyVaultKey",
                    json!({"KeyVaultKeyUrl": key["Id"]}),
                    json!({}),
                );
                let Ok(used) = used else { continue };
                let id = used["KeyIdentifier"].clone();
                let _ = journal.call(
                    &ck,
                    "aip-activate",
                    "Set-AipServiceKeyProperties",
                    json!({"KeyIdentifier": id, "Active": true, "Force": true}),
                    json!({"key": id}),
                );
            }
            82..=86 => {
                let workload = ["TeamsChat", "TeamsMeetingRecording"][rng.below(2) as usize];
                let (subject, body) = (format!("d{tag}"), format!("data of {tag}: {}", rng.next()));
                let args = json!({"Workload": workload, "Subject": subject, "Body": body});
                let _ = journal.call(
                    &ck,
                    "m365-item",
                    "Add-M365DataItem",
                    args,
                    json!({"workload": workload, "subject": subject, "body": body}),
                );
            }
            87..=88 => {
                let _ = journal.call(
                    &ck,
                    "m365-refresh",
                    "Set-M365DataAtRestEncryptionPolicy",
                    json!({"Identity": s.m365_dep, "Refresh": true}),
                    json!({}),
                );
            }
            _ => {
                let file = dir.join(format!("p{tag}.ckaip"));
                let text = format!("protected {tag}: {}", rng.next());
                let args = json!({"Value": text, "OutputFile": file});
                let _ = journal.call(
                    &ck,
                    "protect",
                    "Protect-AipContent",
                    args,
                    json!({"file": file, "text": text}),
                );
            }
        }
    }
}
