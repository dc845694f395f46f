//! Settings files for clap commands: a TOML file whose keys are the flags' long names (`speed = 5`,
//! `quota = ["default"]`) gives the flags their defaults, so flags and environment variables override it.
//! Shared by the emulator's and the dashboard's command lines.

use std::path::{Path, PathBuf};

/// The file named by `--config FILE`, `--config=FILE` or the environment variable `env` (the flag wins).
/// Read before clap parses, since the file's values become the command's defaults.
pub fn config_file(args: &[String], env: &str) -> Option<PathBuf> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--config" {
            return it.next().map(PathBuf::from);
        }
        if let Some(v) = a.strip_prefix("--config=") {
            return Some(PathBuf::from(v));
        }
    }
    std::env::var_os(env).filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// The command with the file's values as its flags' defaults. A key that is no flag, or a value that is
/// neither a string, a number, a boolean nor a list of them, is refused naming the key and the file.
pub fn with_file_defaults(mut command: clap::Command, path: &Path) -> Result<clap::Command, String> {
    let where_ = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("--config: cannot read {where_}: {e}"))?;
    let table: toml::Table = text.parse().map_err(|e| format!("--config: {where_} is not valid TOML: {e}"))?;
    let scalar = |key: &str, v: &toml::Value| -> Result<String, String> {
        match v {
            toml::Value::String(s) => Ok(s.clone()),
            toml::Value::Integer(i) => Ok(i.to_string()),
            toml::Value::Float(f) => Ok(f.to_string()),
            toml::Value::Boolean(b) => Ok(b.to_string()),
            _ => Err(format!("--config: in {where_}, '{key}' must be a string, a number or a boolean")),
        }
    };
    for (key, value) in &table {
        let id = key.replace('-', "_");
        let known = command.get_arguments().any(|a| a.get_id().as_str() == id && a.get_long().is_some());
        if !known || id == "config" {
            return Err(format!(
                "--config: in {where_}, '{key}' is not a setting (keys are the flags' long names, without their dashes)"
            ));
        }
        let values: Vec<String> = match value {
            toml::Value::Array(items) => items.iter().map(|v| scalar(key, v)).collect::<Result<_, _>>()?,
            v => vec![scalar(key, v)?],
        };
        command = command.mut_arg(id, |a| a.default_values(values));
    }
    Ok(command)
}

/// Parse `argv` (with the program's name first) by `command`, with the settings file's defaults when one
/// is named. `Ok(Err(text))` is help or version text to print; errors are clap's, without its "error: ".
pub fn matches(command: clap::Command, argv: &[String], env: &str) -> Result<Result<clap::ArgMatches, String>, String> {
    let command = match config_file(&argv[1.min(argv.len())..], env) {
        Some(path) => with_file_defaults(command, &path)?,
        None => command,
    };
    match command.try_get_matches_from(argv) {
        Ok(m) => Ok(Ok(m)),
        Err(e) => {
            use clap::error::ErrorKind::*;
            match e.kind() {
                DisplayHelp | DisplayVersion => Ok(Err(e.render().to_string())),
                _ => Err(clap_message(&e)),
            }
        }
    }
}

/// clap's message for an error, as one text to print after the program's name.
pub fn clap_message(e: &clap::Error) -> String {
    e.render().to_string().trim_start_matches("error: ").trim_end().to_string()
}
