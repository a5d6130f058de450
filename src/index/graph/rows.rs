//! The vector rows of a store: owned, or mapped read-only from the graph file
//! after `load` (no copy, no anonymous page faults: opening a 146 MB index
//! costs little more than its checksum). The first write turns a mapping
//! into an owned copy.

use std::fs::File;

use super::store::{advise_huge, Lane};

/// Rows as one slice of [`Lane`]s.
pub(crate) enum Rows {
    /// Built or grown in memory.
    Owned(Vec<Lane>),
    /// `lanes` lanes at byte offset `off` of a read-only file mapping.
    Mapped {
        /// The whole file.
        map: memmap2::Mmap,
        /// Byte offset of the first lane (a multiple of 32).
        off: usize,
        /// Number of lanes.
        lanes: usize,
    },
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
        Some(Rows::Mapped { map, off, lanes })
    }

    /// The rows.
    #[inline]
    pub(crate) fn lanes(&self) -> &[Lane] {
        match self {
            Rows::Owned(v) => v,
            // Alignment and length were checked in `map`.
            Rows::Mapped { map, off, lanes } => {
                bytemuck::cast_slice(&map[*off..*off + *lanes * std::mem::size_of::<Lane>()])
            }
        }
    }

    /// The rows as an owned, growable vector (copying a mapping once).
    pub(crate) fn owned(&mut self) -> &mut Vec<Lane> {
        if let Rows::Mapped { .. } = self {
            let src = self.lanes();
            let mut v = Vec::with_capacity(src.len());
            advise_huge(v.spare_capacity_mut());
            v.extend_from_slice(src);
            *self = Rows::Owned(v);
        }
        match self {
            Rows::Owned(v) => v,
            Rows::Mapped { .. } => unreachable!("converted above"),
        }
    }

    /// Bytes held (heap capacity, or the mapped length).
    pub(crate) fn bytes(&self) -> usize {
        match self {
            Rows::Owned(v) => v.capacity() * std::mem::size_of::<Lane>(),
            Rows::Mapped { lanes, .. } => lanes * std::mem::size_of::<Lane>(),
        }
    }
}
