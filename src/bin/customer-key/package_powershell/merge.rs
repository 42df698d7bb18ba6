//! The package's `CustomerKey.psm1`: the module's Private/ and Public/ files merged into it.
//!
//! In a checkout the .psm1 dot-sources every file of Private/ and Public/ (one function per
//! file). Dot-sourcing a file costs more than parsing its text as part of one script, so the
//! package replaces each of the .psm1's two loader regions
//!
//! ```text
//! #region ck-package: Private
//! ... the loop that dot-sources Private/*.ps1 ...
//! #endregion ck-package: Private
//! ```
//!
//! with the text of those files, in the order the loop takes them (ordinal order of their
//! paths). The Public region's replacement ends by setting `$ckPublicFunctions`, the names the
//! .psm1 exports, as the loop does: one function per file, named as the file.

/// The folders whose files are merged, in the order their regions appear in the .psm1.
pub const FOLDERS: [&str; 2] = ["Private", "Public"];

/// One PowerShell file of a merged folder: its path relative to the module folder
/// ('/'-separated, e.g. `Public/KeyVault/Get-CkKeyVaultKey.ps1`) and its text.
pub struct Source {
    pub path: String,
    pub text: String,
}

/// `psm1` with the Private and Public regions replaced by the text of `private` and `public`
/// (each sorted here by path, ordinally, as the loader sorts). Fails when a region's markers are
/// missing, repeated or out of order, or a Public file is not a `.ps1`.
pub fn merge(psm1: &str, private: &[Source], public: &[Source]) -> Result<String, String> {
    let mut out = psm1.to_string();
    for (folder, files) in FOLDERS.iter().zip([private, public]) {
        let begin = format!("#region ck-package: {folder}\n");
        let end = format!("#endregion ck-package: {folder}\n");
        let start = single(&out, &begin)?;
        let stop = single(&out, &end)?;
        if stop < start {
            return Err(format!(
                "CustomerKey.psm1: '{}' comes before '{}'",
                end.trim_end(),
                begin.trim_end()
            ));
        }
        let mut sorted: Vec<&Source> = files.iter().collect();
        sorted.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
        let mut body = format!("#region {folder} (merged by 'customer-key package-powershell')\n");
        for file in &sorted {
            body.push_str(&format!("# ---- {} ----\n", file.path));
            let text = file.text.strip_prefix('\u{feff}').unwrap_or(&file.text);
            body.push_str(text);
            if !text.ends_with('\n') {
                body.push('\n');
            }
        }
        if *folder == "Public" {
            let names = sorted
                .iter()
                .map(|f| function_name(&f.path).map(|n| format!("'{n}'")))
                .collect::<Result<Vec<_>, _>>()?;
            body.push_str(&format!("$ckPublicFunctions = @({})\n", names.join(", ")));
        }
        body.push_str(&format!("#endregion {folder}\n"));
        out.replace_range(start..stop + end.len(), &body);
    }
    Ok(out)
}

/// The byte offset of the one occurrence of `marker` (a whole line) in `text`.
fn single(text: &str, marker: &str) -> Result<usize, String> {
    let at: Vec<usize> = text
        .match_indices(marker)
        .map(|(i, _)| i)
        .filter(|&i| i == 0 || text.as_bytes()[i - 1] == b'\n')
        .collect();
    match at.as_slice() {
        [one] => Ok(*one),
        [] => Err(format!(
            "CustomerKey.psm1 has no '{}' line to merge the module's files into",
            marker.trim_end()
        )),
        _ => Err(format!(
            "CustomerKey.psm1 has '{}' {} times",
            marker.trim_end(),
            at.len()
        )),
    }
}

/// The function a Public file defines: its file name without `.ps1`.
fn function_name(path: &str) -> Result<&str, String> {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.strip_suffix(".ps1")
        .filter(|n| !n.is_empty() && !n.contains('\''))
        .ok_or(format!("{path} is not a .ps1 file named as its function"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(path: &str, text: &str) -> Source {
        Source {
            path: path.to_string(),
            text: text.to_string(),
        }
    }

    const PSM1: &str = "$script:A = 1\n#region ck-package: Private\nloop private\n#endregion ck-package: Private\nInit\n#region ck-package: Public\nloop public\n#endregion ck-package: Public\nExport-ModuleMember -Function $ckPublicFunctions\n";

    #[test]
    fn replaces_each_region_with_its_files_in_ordinal_order() {
        let merged = merge(
            PSM1,
            &[
                source("Private/b.ps1", "function b {}"),
                source("Private/a.ps1", "\u{feff}function a {}\n"),
            ],
            &[
                source(
                    "Public/Session/Get-CkConnection.ps1",
                    "function Get-CkConnection {}\n",
                ),
                source(
                    "Public/KeyVault/Add-CkKeyVaultKey.ps1",
                    "function Add-CkKeyVaultKey {}\n",
                ),
            ],
        )
        .unwrap();
        assert!(!merged.contains("loop private") && !merged.contains("loop public"));
        assert!(!merged.contains("ck-package:"));
        let order: Vec<usize> = [
            "$script:A = 1",
            "# ---- Private/a.ps1 ----\nfunction a {}\n",
            "# ---- Private/b.ps1 ----\nfunction b {}\n",
            "Init",
            "# ---- Public/KeyVault/Add-CkKeyVaultKey.ps1 ----",
            "# ---- Public/Session/Get-CkConnection.ps1 ----",
            "$ckPublicFunctions = @('Add-CkKeyVaultKey', 'Get-CkConnection')\n",
            "Export-ModuleMember",
        ]
        .iter()
        .map(|needle| {
            merged
                .find(needle)
                .unwrap_or_else(|| panic!("{needle} in {merged}"))
        })
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{merged}");
        assert!(!merged.contains('\u{feff}'));
    }

    #[test]
    fn refuses_a_psm1_without_or_with_repeated_markers() {
        let missing = PSM1.replace("#region ck-package: Public\n", "");
        assert!(merge(&missing, &[], &[])
            .unwrap_err()
            .contains("no '#region ck-package: Public'"));
        let twice = format!("{PSM1}#region ck-package: Private\n");
        assert!(merge(&twice, &[], &[]).unwrap_err().contains("2 times"));
    }

    #[test]
    fn refuses_a_public_file_not_named_as_a_function() {
        let error = merge(PSM1, &[], &[source("Public/Session/notes.txt", "")]).unwrap_err();
        assert!(error.contains("notes.txt"), "{error}");
    }
}
