//! Reading the files an operator points the service at (the rules, the API tokens)
//! without ever blocking on them: only a regular file is read, and only up to a size cap.
//! A FIFO, a device or a directory at the path is refused before it is opened; the file
//! is then opened non-blocking and looked at again, so one swapped in between the two
//! looks cannot hang the reader either.

use std::fs::{Metadata, OpenOptions};
use std::io::{self, Read};
use std::path::Path;

/// Why a file was not read. The messages name no path: callers say which file.
#[derive(Debug)]
pub enum ReadError {
    /// A directory, a FIFO, a socket or a device.
    NotRegular(&'static str),
    /// Larger than the cap, in bytes.
    TooLarge(u64),
    /// The operating system's error.
    Io(io::Error),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::NotRegular(what) => write!(f, "it is {what}, not a regular file"),
            ReadError::TooLarge(cap) => write!(f, "it is larger than {}, the limit", size(*cap)),
            ReadError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ReadError {}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> ReadError {
        ReadError::Io(e)
    }
}

/// The bytes of the regular file at `path` (symbolic links followed), at most `cap`.
pub fn read_regular(path: &Path, cap: u64) -> Result<Vec<u8>, ReadError> {
    check(&std::fs::metadata(path)?, cap)?;
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Opening a FIFO for reading waits for a writer unless non-blocking; on a
        // regular file the flag changes nothing.
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = options.open(path)?;
    // What counts is what was opened: the path may name something else by now.
    let meta = file.metadata()?;
    check(&meta, cap)?;
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(cap.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(ReadError::TooLarge(cap));
    }
    Ok(bytes)
}

fn check(meta: &Metadata, cap: u64) -> Result<(), ReadError> {
    let kind = meta.file_type();
    if !kind.is_file() {
        return Err(ReadError::NotRegular(describe(&kind)));
    }
    if meta.len() > cap {
        return Err(ReadError::TooLarge(cap));
    }
    Ok(())
}

fn describe(kind: &std::fs::FileType) -> &'static str {
    if kind.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO";
        }
        if kind.is_socket() {
            return "a socket";
        }
        if kind.is_block_device() || kind.is_char_device() {
            return "a device";
        }
    }
    "something else"
}

/// `16 MiB`, `64 KiB`, `100 bytes`.
fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory, removed with what it holds when the guard drops.
    fn temp(name: &str) -> tempfile::TempDir {
        tempfile::Builder::new()
            .prefix(&format!("aftersales-files-{name}-"))
            .tempdir()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn reads_a_regular_file_up_to_the_cap_and_refuses_one_byte_more() {
        let dir = temp("cap");
        let path = dir.path().join("f");
        std::fs::write(&path, b"12345").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read_regular(&path, 5).ok(), Some(b"12345".to_vec()));
        let err = read_regular(&path, 4).err().map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("it is larger than 4 bytes, the limit"));
    }

    #[test]
    fn refuses_a_directory_and_names_a_missing_file_by_the_os_error() {
        let dir = temp("kinds");
        let err = read_regular(dir.path(), 1 << 20)
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("it is a directory, not a regular file")
        );
        let missing = read_regular(&dir.path().join("nope"), 1 << 20).err();
        assert!(
            matches!(&missing, Some(ReadError::Io(e)) if e.kind() == io::ErrorKind::NotFound),
            "{missing:?}"
        );
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(size(16 << 20), "16 MiB");
        assert_eq!(size(64 << 10), "64 KiB");
        assert_eq!(size(1000), "1000 bytes");
    }
}
