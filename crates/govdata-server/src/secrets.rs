//! Secrets read from files: the node key and `*_file` options. A secret file
//! that other users can read is refused, so a leak is not silently tolerated.

use std::path::Path;

use crate::config::ConfigError;

pub fn read_secret_file(path: &Path) -> Result<String, ConfigError> {
    let io = |source| ConfigError::Io { path: path.to_owned(), source };
    check_not_world_readable(path).map_err(io)?;
    std::fs::read_to_string(path).map_err(io)
}

#[cfg(unix)]
pub fn check_not_world_readable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)?.permissions().mode();
    if mode & 0o007 != 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!("secret file is accessible to other users (mode {:o}); chmod 600 it", mode & 0o777),
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
pub fn check_not_world_readable(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Writes a new secret file readable by its owner only.
pub fn write_secret_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}
