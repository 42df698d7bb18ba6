//! What the crash trials' parent (tests/crash/main.rs) and the child that runs the workload
//! (tests/children/child.rs, with tests/crash/workload.rs) share: the names the set-up makes,
//! the backup/restore cycle's steps, and the seeded random numbers.
#![allow(dead_code)]

/// A PKCS#8 key the workload imports, in the trials' directory.
pub const KEY_FILE: &str = "import.der";
/// The principal the workload runs as: its audit rows are told from the set-up's by it.
pub const CRASH_USER: &str = "crash@contoso.com";

/// Names the set-up makes and the workload uses.
pub struct Setup {
    pub vault_a: &'static str,
    pub vault_b: &'static str,
    /// No purge protection: the backup/restore cycles purge in it.
    pub vault_c: &'static str,
    pub roll_key: &'static str,
    pub exo_key: &'static str,
    pub spo_key: &'static str,
    pub aip_key: &'static str,
    pub dep: &'static str,
    /// The multi-workload policy, assigned to the tenant by the set-up.
    pub m365_dep: &'static str,
    pub base_mailbox: &'static str,
    pub base_site: &'static str,
}

impl Default for Setup {
    fn default() -> Setup {
        Setup {
            vault_a: "crash-a",
            vault_b: "crash-b",
            vault_c: "crash-c",
            roll_key: "roll",
            exo_key: "exo",
            spo_key: "spo",
            aip_key: "aip",
            dep: "DEP-crash",
            m365_dep: "M365-crash",
            base_mailbox: "base",
            base_site: "https://contoso.sharepoint.com/sites/base",
        }
    }
}

/// The steps of one backup-and-restore cycle, in order.
pub const CYCLE_STEPS: &[&str] = &["create", "backup", "remove", "purge", "restore"];

/// xorshift64*: small, seedable, good enough to pick operations and moments.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
