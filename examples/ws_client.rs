//! A WebSocket client on `std::net`, as the Autobahn testsuite's testee.
//!
//! ```text
//! cargo run --release --example ws_client -- ws://127.0.0.1:9001 pushcodec
//! ```
//!
//! Reads the case count from `URL/getCaseCount`, runs every case
//! (`URL/runCase?case=N&agent=AGENT`), echoing each message until the server
//! closes, then asks for the reports (`URL/updateReports?agent=AGENT`).
//! `.ci/check-autobahn.sh` drives it against `wstest -m fuzzingserver`.
//!
//! pushcodec does no I/O: this program opens the socket, writes the request
//! that [`ClientHandshake`] encodes, checks the answer with it, and then moves
//! bytes between the socket and the [`Connection`].

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use pushcodec::ws::handshake::ClientHandshake;
use pushcodec::ws::{Config, Connection, Event, Role};

const READ_BUFFER: usize = 64 * 1024;
/// How long the server may take to answer the opening handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, agent] = args.as_slice() else {
        eprintln!("usage: ws_client ws://HOST:PORT[/PATH] AGENT");
        return ExitCode::from(2);
    };
    let Some((authority, base)) = url.strip_prefix("ws://").map(|rest| {
        let slash = rest.find('/').unwrap_or(rest.len());
        (&rest[..slash], rest[slash..].trim_end_matches('/'))
    }) else {
        eprintln!("ws_client: only ws:// URLs are supported, got {url:?}");
        return ExitCode::from(2);
    };
    let agent = percent_encode(agent);

    let mut count = String::new();
    let got_count = run(authority, &format!("{base}/getCaseCount"), |_, event| {
        if let Event::Text(text) = event {
            count.push_str(&text);
        }
    });
    let count: u32 = match got_count.map(|()| count.trim().parse()) {
        Ok(Ok(count)) => count,
        Ok(Err(_)) => {
            eprintln!("ws_client: getCaseCount answered {count:?}, not a number");
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("ws_client: getCaseCount: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("ws_client: running {count} cases as {agent}");

    for case in 1..=count {
        let path = format!("{base}/runCase?case={case}&agent={agent}");
        // A case may end in an error on purpose (the fuzzer sent garbage);
        // its report says whether we behaved.
        if let Err(e) = run(authority, &path, echo) {
            eprintln!("ws_client: case {case}: {e}");
        }
    }

    match run(
        authority,
        &format!("{base}/updateReports?agent={agent}"),
        |_, _| {},
    ) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ws_client: updateReports: {e}");
            ExitCode::FAILURE
        }
    }
}

fn echo(conn: &mut Connection, event: Event) {
    let sent = match event {
        Event::Text(text) => conn.send_text(text),
        Event::Binary(data) => conn.send_binary(data),
        // Pings are answered and Closes replied to by the connection.
        _ => Ok(()),
    };
    if let Err(e) = sent {
        eprintln!("ws_client: not echoed: {e}");
    }
}

/// Opens `ws://authority/path`, calls `on_event` for everything the server
/// sends, and returns once the server has closed the connection.
fn run(
    authority: &str,
    path: &str,
    mut on_event: impl FnMut(&mut Connection, Event),
) -> io::Result<()> {
    // The fuzzing server checks that the Host header names its own port, so
    // it is sent exactly as the URL has it.
    let mut stream = if authority.contains(':') && !authority.ends_with(']') {
        TcpStream::connect(authority)?
    } else {
        TcpStream::connect(format!("{authority}:80"))?
    };
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(HANDSHAKE_TIMEOUT))?;
    let mut buf = vec![0u8; READ_BUFFER];

    // The opening handshake (RFC 6455 §4.1). The server's first frames may
    // arrive in the same read as its response head.
    let handshake = ClientHandshake::new(authority, path);
    let mut request = Vec::new();
    handshake.encode_request(&mut request);
    stream.write_all(&request)?;
    let mut head = Vec::new();
    let first_frames = loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        head.extend_from_slice(&buf[..n]);
        if let Some((_response, used)) =
            handshake.parse_response(&head).map_err(io::Error::other)?
        {
            break head.split_off(used);
        }
    };

    let mut config = Config::default();
    config.max_message_size = 64 << 20;
    config.max_frame_size = 64 << 20;
    // More than 65,536: Autobahn 9.3.1 sends 4 MiB as 65,537 frames of at
    // most 64 bytes (the default limit is 65,536).
    config.max_fragments = 1 << 17;
    let mut conn = Connection::new(Role::Client, config);
    conn.handle_read(&first_frames);
    // Starts the clocks: keepalive pings, the pong deadline, and the close
    // timeout that bounds our wait for the server to end the connection.
    conn.handle_timeout(Instant::now());

    // The drive loop: bytes and time in, events out (answered), bytes out.
    loop {
        loop {
            match conn.poll_event() {
                Ok(Some(event)) => on_event(&mut conn, event),
                Ok(None) => break,
                // The Close frame with the right code is already queued.
                Err(e) => eprintln!("ws_client: {path}: {e}"),
            }
            transmit(&mut conn, &mut stream)?;
        }
        transmit(&mut conn, &mut stream)?;
        // A client waits for the server to close TCP first (RFC 6455 §7.1.1).
        if conn.should_close_transport() {
            return Ok(());
        }
        // Block until bytes arrive or the connection's next deadline.
        let deadline = conn
            .poll_timeout()
            .map(|at| at.saturating_duration_since(Instant::now()));
        stream.set_read_timeout(deadline.map(|d| d.max(Duration::from_millis(1))))?;
        match stream.read(&mut buf) {
            Ok(0) => conn.handle_eof(),
            Ok(n) => conn.handle_read(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            // Some servers abort (RST) instead of closing (FIN) once the close
            // handshake is done; either way the transport is gone, and the
            // connection tells whether that was clean.
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => conn.handle_eof(),
            Err(e) => return Err(e),
        }
        conn.handle_timeout(Instant::now());
    }
}

fn transmit(conn: &mut Connection, stream: &mut TcpStream) -> io::Result<()> {
    while let Some(bytes) = conn.poll_transmit() {
        stream.write_all(&bytes)?;
    }
    Ok(())
}

/// Query-string escaping for the agent name (RFC 3986 §2: unreserved
/// characters stay, every other byte becomes `%XX`).
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}
