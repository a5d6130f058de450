//! The `.pqlt` container of `EXPORT TENANT` / `IMPORT TENANT`: a header,
//! then framed sections, then an end frame (docs/language.md lists the
//! layout).
//!
//! ```text
//! header:  magic "PQLT\0\r\n\x1a" · u16 format version · u16 n · n bytes PQL version
//! section: u8 kind · u16 n · n bytes name · u64 length · data · u32 CRC-32
//!          (the CRC covers kind, name, length and data)
//! end:     u8 0xFF · u16 0 · u64 12 · u64 sections · u32 CRC-32 of every
//!          byte before the end frame · u32 CRC-32 of the frame
//! ```
//!
//! All integers are little-endian. A reader never allocates a length it
//! read: small sections are capped at [`MAX_SMALL`], file sections are
//! streamed and may not claim more bytes than the file has left.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// First bytes of every `.pqlt` file.
pub(crate) const MAGIC: [u8; 8] = *b"PQLT\0\r\n\x1a";
/// The format this build writes, and the newest it reads.
pub(crate) const FORMAT_VERSION: u16 = 1;
/// The largest section read into memory (record, usage, keys): 64 MiB.
pub(crate) const MAX_SMALL: u64 = 64 << 20;
/// The longest section name.
const MAX_NAME: usize = 255;
/// Most sections in one file.
const MAX_SECTIONS: u64 = 1 << 20;

/// What a section holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The tenant record, JSON.
    Record,
    /// One file of the tenant's folder, named by the section.
    File,
    /// Usage rows, JSON.
    Usage,
    /// API key hashes and records, JSON.
    Keys,
    /// The end frame.
    End,
}

impl Kind {
    fn byte(self) -> u8 {
        match self {
            Kind::Record => 1,
            Kind::File => 2,
            Kind::Usage => 3,
            Kind::Keys => 4,
            Kind::End => 0xFF,
        }
    }

    fn of(b: u8) -> Option<Kind> {
        Some(match b {
            1 => Kind::Record,
            2 => Kind::File,
            3 => Kind::Usage,
            4 => Kind::Keys,
            0xFF => Kind::End,
            _ => return None,
        })
    }
}

/// A writer that keeps the CRC-32 and count of what went through it.
struct Counted<W> {
    inner: W,
    crc: crc32fast::Hasher,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes a `.pqlt` file section by section.
pub(crate) struct Writer<W: Write> {
    out: Counted<BufWriter<W>>,
    sections: u64,
}

fn frame_head(kind: Kind, name: &str, len: u64) -> Result<Vec<u8>> {
    if name.len() > MAX_NAME {
        return Err(Error::invalid_option(format!(
            "section name too long: {name}"
        )));
    }
    let mut head = vec![kind.byte()];
    head.extend_from_slice(&(name.len() as u16).to_le_bytes());
    head.extend_from_slice(name.as_bytes());
    head.extend_from_slice(&len.to_le_bytes());
    Ok(head)
}

impl<W: Write> Writer<W> {
    /// Starts a file: writes the header.
    pub(crate) fn new(inner: W) -> Result<Self> {
        let mut w = Writer {
            out: Counted {
                inner: BufWriter::with_capacity(1 << 20, inner),
                crc: crc32fast::Hasher::new(),
            },
            sections: 0,
        };
        let version = env!("CARGO_PKG_VERSION");
        let mut head = MAGIC.to_vec();
        head.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        head.extend_from_slice(&(version.len() as u16).to_le_bytes());
        head.extend_from_slice(version.as_bytes());
        w.out.write_all(&head).map_err(write_err)?;
        Ok(w)
    }

    /// Writes a section holding `data`.
    pub(crate) fn small(&mut self, kind: Kind, name: &str, data: &[u8]) -> Result<()> {
        self.section(kind, name, data.len() as u64, &mut &data[..])
    }

    /// Writes a section of exactly `len` bytes read from `data`.
    pub(crate) fn section(
        &mut self,
        kind: Kind,
        name: &str,
        len: u64,
        data: &mut impl Read,
    ) -> Result<()> {
        let head = frame_head(kind, name, len)?;
        let mut crc = crc32fast::Hasher::new();
        crc.update(&head);
        self.out.write_all(&head).map_err(write_err)?;
        let mut buf = vec![0u8; 1 << 16];
        let mut left = len;
        while left > 0 {
            let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
            let n = data.read(&mut buf[..want]).map_err(write_err)?;
            if n == 0 {
                return Err(Error::io(
                    format!("exporting {name}"),
                    "the file became shorter while it was read",
                ));
            }
            crc.update(&buf[..n]);
            self.out.write_all(&buf[..n]).map_err(write_err)?;
            left -= n as u64;
        }
        self.out
            .write_all(&crc.finalize().to_le_bytes())
            .map_err(write_err)?;
        self.sections += 1;
        Ok(())
    }

    /// Writes the end frame and flushes; returns the inner writer.
    pub(crate) fn finish(mut self) -> Result<W> {
        let whole = self.out.crc.clone().finalize();
        let mut data = self.sections.to_le_bytes().to_vec();
        data.extend_from_slice(&whole.to_le_bytes());
        let mut frame = frame_head(Kind::End, "", data.len() as u64)?;
        frame.extend_from_slice(&data);
        let crc = crc32fast::hash(&frame);
        frame.extend_from_slice(&crc.to_le_bytes());
        self.out.write_all(&frame).map_err(write_err)?;
        self.out
            .inner
            .into_inner()
            .map_err(|e| Error::io("writing the export", e.error().to_string()))
    }
}

fn write_err(e: io::Error) -> Error {
    Error::io("writing the export", e)
}

/// One section's header, as read.
#[derive(Debug, Clone)]
pub(crate) struct Section {
    /// What it holds.
    pub(crate) kind: Kind,
    /// Its name (a file name for [`Kind::File`]).
    pub(crate) name: String,
    /// Its data's length.
    pub(crate) len: u64,
}

/// Reads and checks a `.pqlt` file section by section. Every error is
/// `Corrupt`, naming the file.
pub(crate) struct Reader {
    path: PathBuf,
    input: BufReader<File>,
    /// Bytes left in the file.
    left: u64,
    /// CRC-32 of every byte read so far.
    whole: crc32fast::Hasher,
    sections: u64,
    /// The CRC of the section whose data is next.
    pending: Option<crc32fast::Hasher>,
    /// The PQL version that wrote the file.
    pub(crate) written_by: String,
}

impl Reader {
    /// Opens `path` and checks its header.
    pub(crate) fn open(path: &Path) -> Result<Reader> {
        let file = File::open(path)
            .map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
        let left = file
            .metadata()
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?
            .len();
        let mut r = Reader {
            path: path.to_path_buf(),
            input: BufReader::with_capacity(1 << 20, file),
            left,
            whole: crc32fast::Hasher::new(),
            sections: 0,
            pending: None,
            written_by: String::new(),
        };
        let mut magic = [0u8; 8];
        r.exact(&mut magic)?;
        if magic != MAGIC {
            return Err(r.corrupt("not a PQL tenant export (wrong magic bytes)"));
        }
        let version = r.u16()?;
        if version == 0 || version > FORMAT_VERSION {
            return Err(r.corrupt(format!(
                "format version {version}, this build reads 1 to {FORMAT_VERSION}"
            )));
        }
        let n = r.u16()?;
        let mut by = vec![0u8; usize::from(n)];
        r.exact(&mut by)?;
        r.written_by = String::from_utf8_lossy(&by).into_owned();
        Ok(r)
    }

    fn corrupt(&self, why: impl std::fmt::Display) -> Error {
        Error::corrupt(self.path.display(), why)
    }

    fn exact(&mut self, buf: &mut [u8]) -> Result<()> {
        if (buf.len() as u64) > self.left {
            return Err(self.corrupt("the file is truncated"));
        }
        self.input
            .read_exact(buf)
            .map_err(|e| Error::io(format!("cannot read {}", self.path.display()), e))?;
        self.whole.update(buf);
        self.left -= buf.len() as u64;
        Ok(())
    }

    fn u16(&mut self) -> Result<u16> {
        let mut b = [0u8; 2];
        self.exact(&mut b)?;
        Ok(u16::from_le_bytes(b))
    }

    fn u32(&mut self) -> Result<u32> {
        let mut b = [0u8; 4];
        self.exact(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn u64(&mut self) -> Result<u64> {
        let mut b = [0u8; 8];
        self.exact(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    /// The next section's header, or `None` after a valid end frame (which
    /// must be the file's last bytes). Read its data with [`Reader::body`]
    /// before the next call.
    pub(crate) fn next_section(&mut self) -> Result<Option<Section>> {
        let before_frame = self.whole.clone().finalize();
        let mut crc = crc32fast::Hasher::new();
        let mut kind = [0u8; 1];
        self.exact(&mut kind)?;
        let kind_b = kind[0];
        let kind = Kind::of(kind_b)
            .ok_or_else(|| self.corrupt(format!("unknown section kind {kind_b}")))?;
        let n = self.u16()?;
        if usize::from(n) > MAX_NAME {
            return Err(self.corrupt("section name too long"));
        }
        let mut name = vec![0u8; usize::from(n)];
        self.exact(&mut name)?;
        let len = self.u64()?;
        crc.update(&[kind_b]);
        crc.update(&n.to_le_bytes());
        crc.update(&name);
        crc.update(&len.to_le_bytes());
        let name = String::from_utf8(name).map_err(|_| self.corrupt("section name not UTF-8"))?;
        if len > self.left.saturating_sub(4) {
            return Err(self.corrupt(format!(
                "section {name:?} claims {len} bytes, more than the file holds"
            )));
        }
        if kind == Kind::End {
            if len != 12 {
                return Err(self.corrupt("malformed end frame"));
            }
            let count = self.u64()?;
            let whole = self.u32()?;
            crc.update(&count.to_le_bytes());
            crc.update(&whole.to_le_bytes());
            let stored = self.u32()?;
            if stored != crc.finalize() || whole != before_frame || count != self.sections {
                return Err(self.corrupt("the end frame does not match the file's contents"));
            }
            if self.left != 0 {
                return Err(self.corrupt("bytes after the end frame"));
            }
            return Ok(None);
        }
        if kind != Kind::File && len > MAX_SMALL {
            return Err(self.corrupt(format!(
                "section {name:?} is {len} bytes, more than {MAX_SMALL}"
            )));
        }
        self.sections += 1;
        if self.sections > MAX_SECTIONS {
            return Err(self.corrupt("too many sections"));
        }
        self.pending = Some(crc);
        Ok(Some(Section { kind, name, len }))
    }

    /// Streams the data of `section` (the one [`Reader::next_section`] just
    /// returned) into `sink`, then checks its CRC.
    pub(crate) fn body(&mut self, section: &Section, sink: &mut dyn Write) -> Result<()> {
        let Some(mut crc) = self.pending.take() else {
            return Err(self.corrupt("section data read out of order"));
        };
        let mut buf = vec![0u8; 1 << 16];
        let mut left = section.len;
        while left > 0 {
            let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
            self.exact(&mut buf[..want])?;
            crc.update(&buf[..want]);
            sink.write_all(&buf[..want])
                .map_err(|e| Error::io(format!("importing {}", section.name), e))?;
            left -= want as u64;
        }
        let stored = self.u32()?;
        if stored != crc.finalize() {
            return Err(self.corrupt(format!("checksum mismatch in section {:?}", section.name)));
        }
        Ok(())
    }

    /// The data of a small section (at most [`MAX_SMALL`] bytes, checked
    /// by [`Reader::next_section`]).
    pub(crate) fn small(&mut self, section: &Section) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.body(section, &mut out)?;
        Ok(out)
    }
}
