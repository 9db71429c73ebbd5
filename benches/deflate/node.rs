//! The Node side of the deflate bench: one `node tests/interop/ws/deflate_peer.js`
//! for the whole run, driven over stdin/stdout (the protocol is described in
//! that file).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use pushcodec::Utf8Bytes;

use super::{TAIL, frames};

/// One `node deflate_peer.js`, alive for the whole run.
pub struct NodePeer {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: ChildStdout,
    pub version: String,
}

impl NodePeer {
    /// Starts the peer, or says why not (the rows are then skipped).
    pub fn start() -> Result<NodePeer, String> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop/ws");
        if !dir.join("node_modules/ws/package.json").exists() {
            return Err(format!(
                "{} has no ws (run .ci/install-ws-interop.sh)",
                dir.join("node_modules").display()
            ));
        }
        let mut child = Command::new("node")
            .arg(dir.join("deflate_peer.js"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot run `node`: {e}"))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped");
        let mut peer = NodePeer {
            child,
            stdin,
            stdout,
            version: String::new(),
        };
        let hello = peer
            .try_call("{\"op\":\"hello\"}", &[])
            .map_err(|e| format!("deflate_peer.js did not answer: {e}"))?;
        peer.version = String::from_utf8_lossy(&hello).into_owned();
        Ok(peer)
    }

    fn try_call(&mut self, json: &str, data: &[u8]) -> std::io::Result<Vec<u8>> {
        let total = 4 + json.len() + data.len();
        let mut req = Vec::with_capacity(4 + total);
        req.extend_from_slice(&(total as u32).to_le_bytes());
        req.extend_from_slice(&(json.len() as u32).to_le_bytes());
        req.extend_from_slice(json.as_bytes());
        req.extend_from_slice(data);
        let stdin = self.stdin.as_mut().expect("open until drop");
        stdin.write_all(&req)?;
        stdin.flush()?;
        let mut len = [0u8; 4];
        self.stdout.read_exact(&mut len)?;
        let mut body = vec![0u8; u32::from_le_bytes(len) as usize];
        self.stdout.read_exact(&mut body)?;
        Ok(body)
    }

    /// Once the peer runs, a failure is a broken row: panic.
    fn call(&mut self, json: &str, data: &[u8]) -> Vec<u8> {
        self.try_call(json, data)
            .unwrap_or_else(|e| panic!("deflate_peer.js failed on {json}: {e}"))
    }

    pub fn load(&mut self, msgs: &[Utf8Bytes], wires: &[(bool, Vec<u8>)]) {
        self.call(
            "{\"op\":\"load\"}",
            &prefixed(msgs.iter().map(|m| &m.as_bytes()[..])),
        );
        for (nct, wire) in wires {
            self.call(&format!("{{\"op\":\"wire\",\"nct\":{nct}}}"), wire);
            let payloads: Vec<Vec<u8>> = frames(wire)
                .into_iter()
                .map(|(_, p)| [&p[..], &TAIL].concat())
                .collect();
            let list = prefixed(payloads.iter().map(|p| &p[..]));
            self.call(&format!("{{\"op\":\"payloads\",\"nct\":{nct}}}"), &list);
        }
    }

    /// Runs `iters` batches of a row; returns Node's wall time for them,
    /// the process's CPU time over the call (all threads) and the first
    /// batch's output when `collect`.
    pub fn run(
        &mut self,
        row: &str,
        nct: bool,
        iters: u64,
        fresh: bool,
        collect: bool,
    ) -> (Duration, Duration, Vec<u8>) {
        let reply = self.call(
            &format!(
                "{{\"op\":\"run\",\"row\":\"{row}\",\"nct\":{nct},\"iters\":{iters},\
                 \"fresh\":{fresh},\"collect\":{collect}}}"
            ),
            &[],
        );
        let ns = |at: usize| {
            Duration::from_nanos(u64::from_le_bytes(reply[at..at + 8].try_into().unwrap()))
        };
        (ns(0), ns(8), reply[16..].to_vec())
    }
}

impl Drop for NodePeer {
    fn drop(&mut self) {
        // Closing stdin ends the peer; wait so no zombie is left.
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

/// Items as `[u32 LE length][bytes]`, back to back.
fn prefixed<'a>(items: impl Iterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for i in items {
        out.extend_from_slice(&(i.len() as u32).to_le_bytes());
        out.extend_from_slice(i);
    }
    out
}

/// The reverse of [`prefixed`].
pub fn split_messages(mut buf: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let len = u32::from_le_bytes(buf[..4].try_into().unwrap()) as usize;
        out.push(buf[4..4 + len].to_vec());
        buf = &buf[4 + len..];
    }
    out
}
