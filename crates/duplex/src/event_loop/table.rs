//! The loop's connections, in one `Vec` indexed by epoll token.
//!
//! A slab: freed slots are reused, so the `Vec` grows to the most connections ever open at
//! once and no further, and every entry lives inline (no per-connection heap chunk, so no
//! malloc header and no alignment hole; the `Vec` itself is one mmap whose untouched pages are
//! not resident). A slot's index is its epoll token; the serial number told apart the
//! connections that used the same slot over time.

use super::entry::Entry;

/// Identifies one connection for as long as the loop runs: a slot and the serial number of
/// the connection that held it. A `SocketId` of a closed connection never names a new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketId {
    pub(crate) index: u32,
    pub(crate) serial: u32,
}

impl std::fmt::Display for SocketId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{}", self.serial)
    }
}

#[derive(Default)]
pub(crate) struct Table {
    slots: Vec<Option<Entry>>,
    free: Vec<u32>,
    len: usize,
    next_serial: u32,
}

impl Table {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Stores a new connection made by `make` from its serial number; returns its slot.
    pub(crate) fn insert(&mut self, make: impl FnOnce(u32) -> Entry) -> u32 {
        self.next_serial = self.next_serial.wrapping_add(1);
        let entry = make(self.next_serial);
        self.len += 1;
        match self.free.pop() {
            Some(index) => {
                self.slots[index as usize] = Some(entry);
                index
            }
            None => {
                self.slots.push(Some(entry));
                (self.slots.len() - 1) as u32
            }
        }
    }

    pub(crate) fn remove(&mut self, index: u32) -> Option<Entry> {
        let entry = self.slots.get_mut(index as usize)?.take()?;
        self.len -= 1;
        self.free.push(index);
        Some(entry)
    }

    pub(crate) fn get(&self, index: u32) -> Option<&Entry> {
        self.slots.get(index as usize)?.as_ref()
    }

    pub(crate) fn get_mut(&mut self, index: u32) -> Option<&mut Entry> {
        self.slots.get_mut(index as usize)?.as_mut()
    }

    /// The connection `id` names, if it is still open.
    pub(crate) fn by_id(&mut self, id: SocketId) -> Option<&mut Entry> {
        self.get_mut(id.index).filter(|e| e.serial == id.serial)
    }

    pub(crate) fn get_by_id(&self, id: SocketId) -> Option<&Entry> {
        let entry = self.slots.get(id.index as usize)?.as_ref()?;
        (entry.serial == id.serial).then_some(entry)
    }

    pub(crate) fn id_of(&self, index: u32) -> Option<SocketId> {
        let entry = self.slots.get(index as usize)?.as_ref()?;
        Some(SocketId {
            index,
            serial: entry.serial,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(serial: u32) -> Entry {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let stream = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let conn = duplex_proto::Connection::new(duplex_proto::Role::Server, Default::default());
        Entry::new(mio::net::TcpStream::from_std(stream), conn, serial)
    }

    /// An idle connection costs its slot and nothing else, so this size is the loop's memory
    /// per idle connection (plus page rounding). uWebSockets measures 273 B here; keep under.
    #[test]
    fn a_slot_stays_under_uwebsockets_per_connection_figure() {
        // mio's sockets carry a selector id in debug builds only (12 more bytes here).
        let debug_only =
            std::mem::size_of::<mio::net::TcpStream>() - std::mem::size_of::<std::os::fd::RawFd>();
        let size = std::mem::size_of::<Option<Entry>>() - debug_only;
        assert!(size <= 240, "a slot is {size} B in a release build");
    }

    #[test]
    fn a_freed_slot_is_reused_but_the_old_id_names_nothing() {
        let mut table = Table::default();
        let first = table.insert(entry);
        let old = table.id_of(first).unwrap();
        assert!(table.remove(first).is_some());
        assert_eq!(table.len(), 0);
        let second = table.insert(entry);
        assert_eq!(second, first, "the slot is reused");
        assert!(
            table.by_id(old).is_none(),
            "the closed connection's id names nothing"
        );
        let new = table.id_of(second).unwrap();
        assert_ne!(new, old);
        assert!(table.by_id(new).is_some());
        assert_eq!(table.capacity(), 1);
    }
}
