//! The vector rows of a store: owned, or mapped read-only from the graph file
//! after `load` (no copy, no anonymous page faults: opening a 146 MB index
//! costs little more than its checksum). The first write turns a mapping
//! into an owned copy.

use std::fs::File;

use super::store::{advise_huge, Lane};

/// Rows as one slice of [`Lane`]s.
pub(crate) struct Rows {
    /// The rows when not mapped (empty while `mapped` is set).
    owned: Vec<Lane>,
    /// A read-only file mapping holding the rows.
    mapped: Option<Mapped>,
}

/// `lanes` lanes at byte offset `off` of a mapping; alignment and length
/// were checked when it was made.
struct Mapped {
    map: memmap2::Mmap,
    off: usize,
    lanes: usize,
}

impl Mapped {
    fn lanes(&self) -> &[Lane] {
        let end = self.off + self.lanes * std::mem::size_of::<Lane>();
        bytemuck::cast_slice(&self.map[self.off..end])
    }
}

impl From<Vec<Lane>> for Rows {
    fn from(owned: Vec<Lane>) -> Rows {
        Rows {
            owned,
            mapped: None,
        }
    }
}

impl Rows {
    /// Maps `lanes` lanes at byte `off` of `file`. `None` if the mapping
    /// fails or the section is not aligned for [`Lane`]; the caller then
    /// reads the rows instead.
    pub(crate) fn map(file: &File, off: usize, lanes: usize) -> Option<Rows> {
        // SAFETY: the mapping is read-only and private to this index. The
        // graph file is never modified in place: `save` writes a temporary
        // file and renames it over the old one, which leaves the mapped inode
        // untouched. Another process truncating the file behind our back
        // would raise SIGBUS (a crash, not a wrong answer).
        #[allow(unsafe_code)]
        let map = unsafe { memmap2::Mmap::map(file) }.ok()?;
        let bytes = map.get(off..off.checked_add(lanes.checked_mul(32)?)?)?;
        bytemuck::try_cast_slice::<u8, Lane>(bytes).ok()?;
        Some(Rows {
            owned: Vec::new(),
            mapped: Some(Mapped { map, off, lanes }),
        })
    }

    /// The rows.
    #[inline]
    pub(crate) fn lanes(&self) -> &[Lane] {
        match &self.mapped {
            Some(m) => m.lanes(),
            None => &self.owned,
        }
    }

    /// The rows as an owned, growable vector (copying a mapping once).
    pub(crate) fn owned(&mut self) -> &mut Vec<Lane> {
        if let Some(m) = self.mapped.take() {
            let src = m.lanes();
            let mut v = Vec::with_capacity(src.len());
            advise_huge(v.spare_capacity_mut());
            v.extend_from_slice(src);
            self.owned = v;
        }
        &mut self.owned
    }

    /// Bytes held (heap capacity, or the mapped length).
    pub(crate) fn bytes(&self) -> usize {
        match &self.mapped {
            Some(m) => m.lanes * std::mem::size_of::<Lane>(),
            None => self.owned.capacity() * std::mem::size_of::<Lane>(),
        }
    }

    /// Whether the rows are mapped from a file.
    #[cfg(test)]
    pub(crate) fn is_mapped(&self) -> bool {
        self.mapped.is_some()
    }
}
