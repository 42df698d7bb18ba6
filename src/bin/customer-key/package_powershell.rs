//! `customer-key package-powershell --out DIR [--version X.Y.Z]`: the PowerShell module as a
//! package that `Install-PSResource` installs. Stages `DIR/CustomerKey/<version>/` (the
//! manifest, the .psm1 with Private/ and Public/ merged into it (see [`merge`]), the format
//! files, `lib/CustomerKey.Native.dll` built from the module's Native.cs, Objects.cs and Batch.cs, and
//! `runtimes/<rid>/native/` holding the stripped release library), then packs it into
//! `DIR/CustomerKey.<version>.nupkg` with pwsh's `Compress-PSResource`, so that DIR can be
//! registered as a PSResourceGet repository as it is. Prints the package's size. The version is
//! Cargo.toml's; `--version` packs the same build under another ModuleVersion.
//!
//! Run from the repository root after `cargo build --release`. Needs pwsh 7.4+ (PSResourceGet
//! and the System.Management.Automation the assembly is compiled against), the .NET SDK and
//! `strip`; it says which is missing.

mod merge;

use super::generate_powershell;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const USAGE: &str = "usage: customer-key package-powershell --out DIR [--version X.Y.Z]
Stages DIR/CustomerKey/<version>/ from powershell/CustomerKey, powershell/CustomerKey.Native and
target/release (run from the repository root after 'cargo build --release'), then writes
DIR/CustomerKey.<version>.nupkg; register DIR with Register-PSResourceRepository to install it.
<version> is Cargo.toml's; --version X.Y.Z (1 to 4 numbers) packs this same build as ModuleVersion
X.Y.Z instead, e.g. to try two versions side by side (its library, cmdlets and recorded registry
stay this build's, so it opens the same stores).
Needs pwsh (PSResourceGet), dotnet (the .NET SDK) and strip on PATH; CK_PWSH names another pwsh.";
const MODULE_DIR: &str = "powershell/CustomerKey";
const INTEROP_PROJECT: &str = "powershell/CustomerKey.Native/CustomerKey.Native.csproj";
const MODULE: &str = "CustomerKey";

/// The subcommand: exit 0 when the package is written, 2 on bad usage or failure.
pub fn main(args: &[String]) -> ExitCode {
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("customer-key package-powershell: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let mut out: Option<PathBuf> = None;
    let mut version_override: Option<String> = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--out" => {
                let dir = rest.next().ok_or(format!("--out needs a DIR\n{USAGE}"))?;
                out = Some(PathBuf::from(dir));
            }
            "--version" => {
                let version = rest
                    .next()
                    .ok_or(format!("--version needs X.Y.Z\n{USAGE}"))?;
                version_override = Some(package_version(version)?);
            }
            "--help" | "-h" => {
                println!("{USAGE}");
                return Ok(());
            }
            _ => return Err(format!("unexpected argument {arg}\n{USAGE}")),
        }
    }
    let out = out.ok_or(format!("--out DIR is required\n{USAGE}"))?;
    let source = PathBuf::from(MODULE_DIR);
    if !source.join("CustomerKey.psd1").is_file() || !Path::new(INTEROP_PROJECT).is_file() {
        return Err(format!(
            "{MODULE_DIR} or {INTEROP_PROJECT} is missing: run this from the repository root"
        ));
    }

    // The package carries the manifest as committed: it must agree with this build's registry.
    let files = generate_powershell::generate(
        &customer_key::registry().describe(),
        &generate_powershell::session_cmdlets(&source)?,
    )?;
    let drift = generate_powershell::drift(&source, &files)?;
    if !drift.is_empty() {
        return Err(format!(
            "{MODULE_DIR} is out of date with the operation registry ({}); regenerate it with:\n    {}",
            drift.join(", "),
            generate_powershell::REGENERATE
        ));
    }

    let library_name = format!(
        "{}customer_key{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    let library = Path::new("target/release").join(&library_name);
    if !library.is_file() {
        return Err(format!(
            "{} is missing: run 'cargo build --release' first",
            library.display()
        ));
    }
    let pwsh = pwsh()?;
    let dotnet = find_program("dotnet").ok_or(
        "dotnet (the .NET SDK) is not on PATH; it builds lib/CustomerKey.Native.dll".to_string(),
    )?;
    let strip = find_program("strip")
        .ok_or("strip (binutils) is not on PATH; it strips the native library".to_string())?;

    let build_version = generate_powershell::module_version(env!("CARGO_PKG_VERSION"))?;
    let version = version_override.unwrap_or_else(|| build_version.clone());
    let stage = out.join(MODULE).join(&version);
    let io = |path: &Path, e: std::io::Error| format!("{}: {e}", path.display());
    if stage.exists() {
        std::fs::remove_dir_all(&stage).map_err(|e| io(&stage, e))?;
    }
    std::fs::create_dir_all(&stage).map_err(|e| io(&stage, e))?;

    let copied = copy_module(&source, &stage)?;
    if version != build_version {
        set_module_version(&stage.join("CustomerKey.psd1"), &build_version, &version)?;
    }

    // The interop assembly, compiled against the System.Management.Automation of this pwsh.
    let sma = capture(
        Command::new(&pwsh).args([
            "-NoProfile",
            "-NonInteractive",
            "-Command",
            "[psobject].Assembly.Location",
        ]),
        "pwsh",
    )?;
    let pwsh_dir = Path::new(sma.trim())
        .parent()
        .ok_or(format!("pwsh reported no assembly folder ({sma:?})"))?
        .to_path_buf();
    let lib = stage.join("lib");
    capture(
        Command::new(&dotnet)
            .args(["build", INTEROP_PROJECT, "--nologo", "-v", "quiet"])
            .args([
                "-c",
                "Release",
                "--artifacts-path",
                "target/powershell-native",
            ])
            .arg(format!("-p:PwshDir={}", pwsh_dir.display()))
            .arg("-o")
            .arg(&lib)
            .env("DOTNET_CLI_TELEMETRY_OPTOUT", "1")
            .env("DOTNET_NOLOGO", "1"),
        "dotnet build",
    )?;
    let dll = lib.join("CustomerKey.Native.dll");
    if !dll.is_file() {
        return Err(format!("dotnet build wrote no {}", dll.display()));
    }
    // Only the assembly: pwsh brings System.Management.Automation itself.
    for entry in std::fs::read_dir(&lib).map_err(|e| io(&lib, e))? {
        let path = entry.map_err(|e| io(&lib, e))?.path();
        if path != dll {
            std::fs::remove_file(&path).map_err(|e| io(&path, e))?;
        }
    }

    // The native library for the platform this build is for, stripped.
    let native = stage
        .join("runtimes")
        .join(runtime_identifier()?)
        .join("native");
    std::fs::create_dir_all(&native).map_err(|e| io(&native, e))?;
    let packaged_library = native.join(&library_name);
    std::fs::copy(&library, &packaged_library).map_err(|e| io(&packaged_library, e))?;
    capture(
        Command::new(&strip)
            .arg("--strip-unneeded")
            .arg(&packaged_library),
        "strip",
    )?;

    let nupkg = out.join(format!("{MODULE}.{version}.nupkg"));
    if nupkg.exists() {
        std::fs::remove_file(&nupkg).map_err(|e| io(&nupkg, e))?;
    }
    capture(
        Command::new(&pwsh)
            .args(["-NoProfile", "-NonInteractive", "-Command"])
            .arg(
                "$ErrorActionPreference = 'Stop'; \
                 Compress-PSResource -Path $env:CK_PACKAGE_STAGE -DestinationPath $env:CK_PACKAGE_OUT",
            )
            .env("CK_PACKAGE_STAGE", &stage)
            .env("CK_PACKAGE_OUT", &out),
        "pwsh Compress-PSResource",
    )?;
    let size = std::fs::metadata(&nupkg)
        .map_err(|e| format!("Compress-PSResource wrote no {}: {e}", nupkg.display()))?
        .len();
    println!(
        "staged {} ({copied} module files, Private/ and Public/ merged into CustomerKey.psm1, lib/CustomerKey.Native.dll, {})",
        stage.display(),
        packaged_library
            .strip_prefix(&stage)
            .unwrap_or(&packaged_library)
            .display()
    );
    println!(
        "{}: {size} bytes ({:.2} MiB)",
        nupkg.display(),
        size as f64 / (1024.0 * 1024.0)
    );
    Ok(())
}

/// Stages the module's PowerShell files from `source` into `stage`: the .psd1, the format files
/// and the .psm1 with the .ps1 files of Private/ and Public/ merged into it ([`merge::merge`]).
/// No dotfiles, no C# sources (the package loads the compiled assembly). Returns how many files
/// of `source` it took.
fn copy_module(source: &Path, stage: &Path) -> Result<usize, String> {
    fn walk(
        from: &Path,
        relative: &str,
        found: &mut Vec<merge::Source>,
        read: &dyn Fn(&Path) -> Result<String, String>,
    ) -> Result<(), String> {
        let mut entries: Vec<_> = std::fs::read_dir(from)
            .and_then(|e| e.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("cannot read {}: {e}", from.display()))?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let path = entry.path();
            let child = format!("{relative}/{name}");
            if path.is_dir() {
                walk(&path, &child, found, read)?;
            } else if name.ends_with(".ps1") {
                found.push(merge::Source {
                    path: child,
                    text: read(&path)?,
                });
            }
        }
        Ok(())
    }
    let read = |path: &Path| {
        std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    };
    let write = |path: &Path, text: &str| {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
    };
    let mut folders: Vec<Vec<merge::Source>> = Vec::new();
    for folder in merge::FOLDERS {
        let mut found = Vec::new();
        walk(&source.join(folder), folder, &mut found, &read)?;
        folders.push(found);
    }
    let psm1 = merge::merge(
        &read(&source.join("CustomerKey.psm1"))?,
        &folders[0],
        &folders[1],
    )?;
    write(&stage.join("CustomerKey.psm1"), &psm1)?;
    let mut count = 1 + folders.iter().map(Vec::len).sum::<usize>();

    // The manifest and the format files, as they are.
    let mut others = vec![PathBuf::from("CustomerKey.psd1")];
    for dir in ["", "Formats"] {
        let entries = std::fs::read_dir(source.join(dir))
            .and_then(|e| e.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("cannot read {}: {e}", source.join(dir).display()))?;
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.starts_with('.') && name.ends_with(".Format.ps1xml") {
                others.push(Path::new(dir).join(name));
            }
        }
    }
    others.sort();
    for relative in others {
        write(&stage.join(&relative), &read(&source.join(&relative))?)?;
        count += 1;
    }
    Ok(count)
}

/// `--version`'s value as a ModuleVersion: 1 to 4 dot-separated numbers, nothing else.
fn package_version(value: &str) -> Result<String, String> {
    match generate_powershell::module_version(value) {
        Ok(version) if version == value => Ok(version),
        _ => Err(format!(
            "--version {value:?} is not a ModuleVersion (1 to 4 dot-separated numbers)\n{USAGE}"
        )),
    }
}

/// Rewrites the staged manifest's one `ModuleVersion = '<from>'` line to `to`; everything else
/// (the recorded registry, the exports, the release notes) stays this build's.
fn set_module_version(manifest: &Path, from: &str, to: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(manifest)
        .map_err(|e| format!("cannot read {}: {e}", manifest.display()))?;
    let line = format!("    ModuleVersion        = '{from}'\n");
    if text.matches(&line).count() != 1 {
        return Err(format!(
            "{} has no single line {:?} to set --version on",
            manifest.display(),
            line.trim()
        ));
    }
    let text = text.replace(&line, &format!("    ModuleVersion        = '{to}'\n"));
    std::fs::write(manifest, text).map_err(|e| format!("{}: {e}", manifest.display()))
}

/// The .NET runtime identifier of this build's platform (linux-x64, osx-arm64, win-x64, ...),
/// the folder under runtimes/ where the module's loader looks.
fn runtime_identifier() -> Result<String, String> {
    let os = match std::env::consts::OS {
        "linux" => "linux",
        "macos" => "osx",
        "windows" => "win",
        other => return Err(format!("no .NET runtime identifier for the OS {other}")),
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "x64",
        "aarch64" => "arm64",
        "x86" => "x86",
        other => {
            return Err(format!(
                "no .NET runtime identifier for the architecture {other}"
            ))
        }
    };
    Ok(format!("{os}-{arch}"))
}

/// pwsh: CK_PWSH, else pwsh on PATH, else the .NET global tool in ~/.dotnet/tools.
fn pwsh() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("CK_PWSH").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    if let Some(path) = find_program("pwsh") {
        return Ok(path);
    }
    let tool = std::env::var_os("HOME").map(|home| Path::new(&home).join(".dotnet/tools/pwsh"));
    tool.filter(|p| p.is_file()).ok_or(
        "pwsh (PowerShell 7.4 or later, with PSResourceGet) is not on PATH nor in ~/.dotnet/tools; \
         install it with 'dotnet tool install --global PowerShell' or set CK_PWSH"
            .to_string(),
    )
}

fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Runs `command`; its standard output, or an error naming `what` with everything it printed.
fn capture(command: &mut Command, what: &str) -> Result<String, String> {
    let output = command
        .output()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{what} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_option_takes_only_a_module_version() {
        assert_eq!(package_version("0.1.1").unwrap(), "0.1.1");
        assert_eq!(package_version("1.2.3.4").unwrap(), "1.2.3.4");
        for bad in ["0.1.1-beta", "v1", "1..2", "1.2.3.4.5", ""] {
            assert!(package_version(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn set_module_version_rewrites_the_one_line() {
        let dir = std::env::temp_dir().join(format!("ck-pkg-version-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let manifest = dir.join("CustomerKey.psd1");
        std::fs::write(
            &manifest,
            "@{\n    ModuleVersion        = '0.1.0'\n    CkRegistry = @{ Version = '0.1.0' }\n}\n",
        )
        .unwrap();
        set_module_version(&manifest, "0.1.0", "0.1.1").unwrap();
        let text = std::fs::read_to_string(&manifest).unwrap();
        assert!(text.contains("ModuleVersion        = '0.1.1'"), "{text}");
        assert!(text.contains("Version = '0.1.0'"), "{text}");
        assert!(set_module_version(&manifest, "0.1.0", "0.1.2").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
