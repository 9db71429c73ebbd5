//! Headless Chromium against the demo (`examples/demo.rs`), no mocks.
//!
//! The demo server runs in this process on a free port; Chromium loads
//! `/?selftest=1`, and the page runs its self-test with the browser's own
//! `EventSource`, `WebSocket` and `fetch`, then POSTs what it saw to
//! `/report`. This test checks that report against what the server itself
//! recorded:
//!
//! - SSE (WHATWG HTML §9.2): every event arrived once, in order; after the
//!   server dropped the stream, `EventSource` reconnected with
//!   `Last-Event-ID` and the server replayed exactly the missed events from
//!   its history (issue 4's "real client" test).
//! - WebSocket (RFC 6455): text, binary and 1 MiB messages echoed intact;
//!   pings answered; the page's Close 4000 and the server's Close 1000 seen
//!   with those codes on the other side; with the `deflate` feature (as in
//!   `cargo test --all-features`) all of it through permessage-deflate
//!   (RFC 7692), negotiated with Chromium.
//! - The token stream (`text/event-stream` over a POST, read with `fetch`):
//!   the page decoded exactly the text the server encoded.
//! - The side-by-side (issue 21): short polling, long polling, SSE and
//!   WebSocket read the same feed at once; each got every event once and in
//!   order, and the requests and bytes per event the server counted rank as
//!   the seeds say (short polling > long polling > SSE, WebSocket).
//!
//! Needs Debian's `chromium` (`bash .ci/test` installs it), or a browser named
//! by `PUSHCODEC_CHROMIUM`. `PUSHCODEC_SKIP_BROWSER=1` skips the test.
//!
//! `PUSHCODEC_DEMO_SCREENSHOT=examples/demo/screenshot.png` also saves the page as the
//! same Chromium shows it once the self-test is done (the README's
//! picture), taken over the DevTools protocol with the crate's own
//! WebSocket client.
#![cfg(all(feature = "sse", feature = "ws"))]

#[allow(dead_code)]
#[path = "../examples/demo.rs"]
mod demo;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use pushcodec::ws::{Config, Connection, Event, handshake::ClientHandshake};

/// The SSE `retry` the server sends: longer than the feed's pauses, so a
/// drop always misses events.
const RETRY_MS: u64 = 800;

/// How long the page may take for its whole self-test.
const REPORT_TIMEOUT: Duration = Duration::from_secs(90);

fn find_chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PUSHCODEC_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

/// The flags that make Chromium run headless as root on a closed network:
/// without the background-networking ones it tries to reach Google and the
/// sandboxed network refuses connections.
fn chromium_command(browser: &PathBuf, profile: &std::path::Path) -> Command {
    let mut cmd = Command::new(browser);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    cmd
}

/// Stops Chromium however the test ends: SIGTERM lets it take its helper
/// processes down with it; SIGKILL if it does not exit in time.
struct Browser(std::process::Child);

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `key=value` lines into a map (the page's report format).
fn parse_report(report: &str) -> HashMap<&str, &str> {
    report
        .lines()
        .filter_map(|line| line.split_once('='))
        .collect()
}

/// Decodes the page's `encodeURIComponent` output.
fn percent_decode(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len());
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).expect("the page encodes UTF-8")
}

#[test]
fn chromium_runs_the_demo_self_test() {
    if std::env::var_os("PUSHCODEC_SKIP_BROWSER").is_some_and(|v| v == "1") {
        eprintln!("PUSHCODEC_SKIP_BROWSER=1: browser test skipped");
        return;
    }
    let browser = find_chromium().unwrap_or_else(|| {
        panic!(
            "chromium not found: `bash .ci/test` installs Debian's `chromium` (as root) and runs \
             the tests; or set PUSHCODEC_CHROMIUM=/path/to/chromium, or PUSHCODEC_SKIP_BROWSER=1 \
             to skip this test"
        )
    });

    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let port = listener.local_addr().expect("local address").port();
    let options = demo::Options {
        // The feed pauses for 3 ticks now and then; a heartbeat fills each
        // pause, and the retry window (8 ticks) always spans missed events.
        tick: Duration::from_millis(100),
        drop_every: None,
        retry_ms: RETRY_MS,
        heartbeat: Duration::from_millis(150),
        ping_every: Duration::from_millis(300),
        token_delay: Duration::from_millis(2),
        verbose: std::env::var_os("PUSHCODEC_DEMO_VERBOSE").is_some(),
    };
    let server = demo::serve(listener, options);

    let profile = std::env::temp_dir().join(format!(
        "pushcodec-demo-browser-{}-{port}",
        std::process::id()
    ));
    std::fs::create_dir_all(&profile).expect("create a Chromium profile directory");
    let log_path = profile.join("chromium.log");
    let log = std::fs::File::create(&log_path).expect("create the Chromium log");
    let url = format!("http://127.0.0.1:{port}/?selftest=1");
    let screenshot = std::env::var_os("PUSHCODEC_DEMO_SCREENSHOT").map(PathBuf::from);
    let mut command = chromium_command(&browser, &profile);
    if screenshot.is_some() {
        command.arg("--remote-debugging-port=0");
    }
    let child = command
        .arg("--window-size=1200,900")
        .arg(&url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", browser.display()));
    let browser_process = Browser(child);

    let report = server.wait_report(REPORT_TIMEOUT);
    let shot = match (&report, &screenshot) {
        (Some(_), Some(path)) => Some(save_screenshot(&profile, path)),
        _ => None,
    };
    drop(browser_process);
    let chromium_log = std::fs::read_to_string(&log_path).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&profile);
    let records = server.records();
    let Some(report) = report else {
        panic!(
            "no self-test report from the page within {REPORT_TIMEOUT:?}\n\
             server saw: {records:#?}\nchromium log:\n{chromium_log}"
        );
    };
    let context = format!("page report:\n{report}\nserver saw: {records:#?}");
    let page = parse_report(&report);
    let get = |key: &str| -> &str {
        page.get(key)
            .copied()
            .unwrap_or_else(|| panic!("the report has no {key}\n{context}"))
    };

    // Every check the page made itself passed (each is listed in the report).
    let failed: Vec<_> = report
        .lines()
        .filter(|l| l.starts_with("check.") && !l.ends_with("=ok"))
        .collect();
    assert!(
        failed.is_empty(),
        "page checks failed: {failed:?}\n{context}"
    );
    assert_eq!(get("selftest.failed"), "0", "{context}");

    if let Some(shot) = shot {
        shot.unwrap_or_else(|e| panic!("screenshot failed: {e}"));
    }
    check_sse(&get, &records, RETRY_MS, &context);
    check_websocket(&get, &records, &context);
    check_tokens(&get, &records, &context);
    check_race(&get, &server.race(), &context);
}

/// The side-by-side (issue 21): the same feed four ways, each got every
/// event once and in order; what each cost, as the server counted it when
/// the page asked, is in the order the seeds predict, and no more than the
/// server counts now.
fn check_race<'a>(get: &dyn Fn(&str) -> &'a str, now: &demo::race::Race, context: &str) {
    use demo::race::Way;
    let number = |key: &str| -> u64 {
        get(key)
            .parse()
            .unwrap_or_else(|_| panic!("{key} is not a number\n{context}"))
    };
    let mut per_event = Vec::new();
    for (key, way) in [
        ("short", Way::ShortPoll),
        ("long", Way::LongPoll),
        ("sse", Way::Sse),
        ("ws", Way::WebSocket),
    ] {
        assert_eq!(get(&format!("race.{key}.in_order")), "true", "{context}");
        let events = number(&format!("race.{key}.events"));
        let requests = number(&format!("race.{key}.requests"));
        let bytes = number(&format!("race.{key}.bytes"));
        assert!(events >= 12, "{key}: {events} events\n{context}");
        let cost = now.cost(way);
        assert!(
            requests >= 1 && requests <= cost.requests,
            "{key}\n{context}"
        );
        assert!(bytes <= cost.bytes_in + cost.bytes_out, "{key}\n{context}");
        per_event.push((key, requests, bytes / events));
    }
    let [short, long, sse, ws] = per_event[..] else {
        unreachable!()
    };
    // Short polling asks more often than there are events; long polling
    // at most once per event (plus its first call).
    assert!(short.1 > long.1, "{per_event:?}\n{context}");
    assert!(short.2 > long.2, "{per_event:?}\n{context}");
    assert!(long.2 > sse.2 && long.2 > ws.2, "{per_event:?}\n{context}");
}

/// WHATWG HTML §9.2 through Chromium's `EventSource`: order, ids, and the
/// resume after a drop with exactly the missed events (issue 4).
fn check_sse<'a>(
    get: &dyn Fn(&str) -> &'a str,
    records: &demo::Records,
    retry_ms: u64,
    context: &str,
) {
    let ids: Vec<u64> = get("sse.ids")
        .split(',')
        .map(|id| {
            id.parse()
                .unwrap_or_else(|_| panic!("id {id:?} is not a number\n{context}"))
        })
        .collect();
    assert!(ids.len() >= 12, "too few events: {ids:?}\n{context}");
    // Every event once, in order: no gap, no duplicate, across the drop.
    for pair in ids.windows(2) {
        assert_eq!(
            pair[1],
            pair[0] + 1,
            "gap or duplicate in {ids:?}\n{context}"
        );
    }
    // Types as the feed assigns them (every 4th event is news).
    let types: Vec<&str> = get("sse.types").split(',').collect();
    assert_eq!(types.len(), ids.len(), "{context}");
    for (id, ty) in ids.iter().zip(&types) {
        let want = if id.is_multiple_of(4) { "news" } else { "tick" };
        assert_eq!(*ty, want, "event {id}\n{context}");
    }

    // The first stream had no Last-Event-ID; the page dropped it after
    // `drop_after`, and the browser came back with exactly that id.
    assert!(
        get("sse.opens").parse::<u32>().unwrap_or(0) >= 2,
        "{context}"
    );
    assert_eq!(
        records.sse.first().map(|r| r.last_event_id.clone()),
        Some(None),
        "{context}"
    );
    let drop_after: u64 = get("sse.drop_after").parse().expect("a number");
    let resume = records
        .sse
        .iter()
        .find(|r| r.last_event_id == Some(drop_after.to_string()))
        .unwrap_or_else(|| panic!("no reconnect with Last-Event-ID {drop_after}\n{context}"));
    let replayed = resume
        .replayed
        .as_ref()
        .unwrap_or_else(|| panic!("the server did not replay from its history\n{context}"));
    // Events were produced while the browser waited `retry`, so some were
    // missed; they are exactly the ones after the id, and the page got them
    // right after its last pre-drop event.
    assert!(!replayed.is_empty(), "nothing was missed\n{context}");
    let at = ids
        .iter()
        .position(|&id| id == drop_after)
        .expect("drop id received")
        + 1;
    let after: Vec<String> = ids[at..]
        .iter()
        .take(replayed.len())
        .map(u64::to_string)
        .collect();
    assert_eq!(
        &after, replayed,
        "replayed events vs what the page received\n{context}"
    );
    let expected: Vec<String> = (drop_after + 1..=drop_after + replayed.len() as u64)
        .map(|id| id.to_string())
        .collect();
    assert_eq!(replayed, &expected, "{context}");

    // Heartbeat comments went out during the feed's pauses; EventSource
    // ignores them (the ids above stay consecutive), the page's raw reader
    // saw them, and the `retry` field.
    let heartbeats: usize = records.sse.iter().map(|r| r.heartbeats).sum();
    assert!(heartbeats >= 1, "no heartbeat was sent\n{context}");
    assert!(
        get("sse.wire_heartbeats").parse::<usize>().unwrap_or(0) >= 1,
        "{context}"
    );
    assert_eq!(get("sse.wire_retry"), retry_ms.to_string(), "{context}");
}

/// `text/event-stream` over a POST, read with `fetch` and decoded in the
/// page: the page's text is exactly what the server encoded.
fn check_tokens<'a>(get: &dyn Fn(&str) -> &'a str, records: &demo::Records, context: &str) {
    let sent = records
        .token_streams
        .first()
        .unwrap_or_else(|| panic!("no token stream was served\n{context}"));
    assert_eq!(percent_decode(get("tokens.text")), *sent, "{context}");
    assert_eq!(get("tokens.count"), get("tokens.done"), "{context}");
    assert!(sent.contains('\n') && sent.contains('🦀'), "{context}");
}

/// RFC 6455 through Chromium: echoes, pings, and both close directions.
fn check_websocket<'a>(get: &dyn Fn(&str) -> &'a str, records: &demo::Records, context: &str) {
    // Built with `deflate`, the server accepts Chromium's permessage-deflate
    // offer (RFC 7692) and every echo below went through it both ways.
    let extensions = get("ws.extensions");
    if cfg!(feature = "deflate") {
        assert!(extensions.starts_with("permessage-deflate"), "{context}");
    } else {
        assert_eq!(extensions, "", "{context}");
    }
    assert_eq!(get("ws.echo_text"), "true", "{context}");
    assert_eq!(get("ws.echo_binary"), "true", "{context}");
    assert_eq!(get("ws.echo_big"), "true", "{context}");
    assert_eq!(get("ws.echo_big_len"), "1048576", "{context}");
    assert!(
        get("ws.rtt_count").parse::<usize>().unwrap_or(0) >= 1,
        "{context}"
    );
    // The page closed A with 4000 "bye ✓"; the server's automatic reply
    // echoed code and reason (RFC 6455 §5.5.1), so the page's close event
    // says 4000 "bye ✓", cleanly.
    // The chat is a Topic: a tab reconnecting with ?after= gets what it
    // missed (the page checks the id too).
    assert_eq!(
        percent_decode(get("ws.chat_resumed")),
        "said while A was away",
        "{context}"
    );
    assert_eq!(get("ws.page_close"), "4000 true", "{context}");
    assert_eq!(
        percent_decode(get("ws.page_close_reason")),
        "bye ✓",
        "{context}"
    );
    let a = records
        .ws
        .iter()
        .find(|r| r.close_received == Some(Some(4000)))
        .unwrap_or_else(|| panic!("no connection closed by the page with 4000\n{context}"));
    assert!(a.binary_lens.contains(&(1 << 20)), "{context}");
    assert!(a.binary_lens.contains(&300), "{context}");
    assert!(!a.rtts.is_empty(), "{context}");
    assert_eq!(a.error, None, "{context}");
    // The server closed B with 1000; the page answered and saw 1000.
    assert_eq!(get("ws.server_close"), "1000 true", "{context}");
    assert_eq!(
        percent_decode(get("ws.server_close_reason")),
        "server says bye",
        "{context}"
    );
    let b = records
        .ws
        .iter()
        .find(|r| r.close_sent == Some(1000))
        .unwrap_or_else(|| panic!("no connection closed by the server\n{context}"));
    assert_eq!(b.close_received, Some(Some(1000)), "{context}");
}

/// Saves what the page shows as a PNG, asking Chromium over the DevTools
/// protocol (`Page.captureScreenshot`) through the crate's WebSocket client.
fn save_screenshot(profile: &Path, path: &Path) -> Result<(), String> {
    let port_file = profile.join("DevToolsActivePort");
    let deadline = Instant::now() + Duration::from_secs(10);
    let port = loop {
        if let Some(port) = std::fs::read_to_string(&port_file)
            .ok()
            .and_then(|s| s.lines().next().and_then(|l| l.trim().parse::<u16>().ok()))
        {
            break port;
        }
        if Instant::now() > deadline {
            return Err("no DevToolsActivePort file".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // The page's DevTools WebSocket, from the /json/list endpoint.
    let list = http_get(port, "/json/list")?;
    let ws_path = list
        .split('}')
        .find(|entry| entry.contains("\"type\": \"page\"") && entry.contains("selftest=1"))
        .and_then(|entry| json_field(entry, "webSocketDebuggerUrl"))
        .and_then(|url| {
            url.split_once("/devtools/")
                .map(|(_, p)| format!("/devtools/{p}"))
        })
        .ok_or_else(|| format!("no page target in {list}"))?;

    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .map_err(|e| e.to_string())?;
    let hs = ClientHandshake::new(&format!("127.0.0.1:{port}"), &ws_path);
    let mut out = Vec::new();
    hs.encode_request(&mut out);
    stream.write_all(&out).map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let used = loop {
        if let Some((_, used)) = hs.parse_response(&buf).map_err(|e| e.to_string())? {
            break used;
        }
        let n = stream.read(&mut chunk).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("DevTools closed during the handshake".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let mut conn = Connection::client(Config::default());
    conn.handle_read(&buf[used..]);
    // Exactly the README's picture size, whatever the window decorations.
    conn.send_text(
        r#"{"id":1,"method":"Emulation.setDeviceMetricsOverride","params":{"width":1200,"height":900,"deviceScaleFactor":1,"mobile":false}}"#,
    )
    .map_err(|e| e.to_string())?;
    conn.send_text(r#"{"id":2,"method":"Page.captureScreenshot","params":{"format":"png"}}"#)
        .map_err(|e| e.to_string())?;
    loop {
        while let Some(bytes) = conn.poll_transmit() {
            stream.write_all(&bytes).map_err(|e| e.to_string())?;
        }
        while let Some(event) = conn.poll_event().map_err(|e| e.to_string())? {
            if let Event::Text(text) = event
                && text.starts_with(r#"{"id":2,"#)
            {
                let data = json_field(&text, "data").ok_or_else(|| format!("no data in {text}"))?;
                let png = base64::engine::general_purpose::STANDARD
                    .decode(data)
                    .map_err(|e| e.to_string())?;
                return std::fs::write(path, png).map_err(|e| e.to_string());
            }
        }
        let n = stream.read(&mut chunk).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("DevTools closed before answering".into());
        }
        conn.handle_read(&chunk[..n]);
    }
}

/// A small HTTP/1.1 GET: the body, read up to its `Content-Length`.
fn http_get(port: u16, path: &str) -> Result<String, String> {
    let mut http = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    http.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    write!(
        http,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let text = String::from_utf8_lossy(&buf);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head
                .lines()
                .find_map(|l| {
                    let (n, v) = l.split_once(':')?;
                    n.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .ok_or("no Content-Length")?;
            if body.len() >= len {
                return Ok(body.to_owned());
            }
        }
        let n = http.read(&mut chunk).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed early".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// A string field's value in a flat JSON object (no escapes in the values
/// read here: URLs and base64).
fn json_field<'a>(json: &'a str, name: &str) -> Option<&'a str> {
    let start = json.find(&format!("\"{name}\""))? + name.len() + 2;
    let rest = json[start..].trim_start().strip_prefix(':')?.trim_start();
    let rest = rest.strip_prefix('"')?;
    rest.split_once('"').map(|(value, _)| value)
}
