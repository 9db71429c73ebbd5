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
//!   with those codes on the other side.
//! - The token stream (`text/event-stream` over a POST, read with `fetch`):
//!   the page decoded exactly the text the server encoded.
//!
//! Needs Debian's `chromium` (`.ci/install-browser.sh`), or a browser named
//! by `PUSHCODEC_CHROMIUM`. `PUSHCODEC_SKIP_BROWSER=1` skips the test.

#[allow(dead_code)]
#[path = "../examples/demo.rs"]
mod demo;

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

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
            "chromium not found: run .ci/install-browser.sh (Debian's `chromium`), \
             set PUSHCODEC_CHROMIUM=/path/to/chromium, or PUSHCODEC_SKIP_BROWSER=1 to skip"
        )
    });

    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let port = listener.local_addr().expect("local address").port();
    let options = demo::Options {
        // The feed pauses for 3 ticks now and then; a heartbeat fills each
        // pause, and the retry window (8 ticks) always spans missed events.
        tick: Duration::from_millis(100),
        drop_every: None,
        retry_ms: 800,
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
    let mut child = chromium_command(&browser, &profile)
        .arg("--window-size=1200,900")
        .arg(&url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", browser.display()));

    let report = server.wait_report(REPORT_TIMEOUT);
    let _ = child.kill();
    let _ = child.wait();
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

    check_sse(&get, &records, &context);
    check_websocket(&get, &records, &context);
    check_tokens(&get, &records, &context);
}

/// WHATWG HTML §9.2 through Chromium's `EventSource`: order, ids, and the
/// resume after a drop with exactly the missed events (issue 4).
fn check_sse<'a>(get: &dyn Fn(&str) -> &'a str, records: &demo::Records, context: &str) {
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
    // ignores them (the ids above stay consecutive).
    let heartbeats: usize = records.sse.iter().map(|r| r.heartbeats).sum();
    assert!(heartbeats >= 1, "no heartbeat was sent\n{context}");
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
    assert_eq!(get("ws.echo_text"), "true", "{context}");
    assert_eq!(get("ws.echo_binary"), "true", "{context}");
    assert_eq!(get("ws.echo_big"), "true", "{context}");
    assert_eq!(get("ws.echo_big_len"), "1048576", "{context}");
    assert!(
        get("ws.rtt_count").parse::<usize>().unwrap_or(0) >= 1,
        "{context}"
    );
    // The page closed A with 4000; the server saw that code and echoed it
    // (RFC 6455 §5.5.1), so the page's close event says 4000, cleanly.
    assert_eq!(get("ws.page_close"), "4000 true", "{context}");
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
    let b = records
        .ws
        .iter()
        .find(|r| r.close_sent == Some(1000))
        .unwrap_or_else(|| panic!("no connection closed by the server\n{context}"));
    assert_eq!(b.close_received, Some(Some(1000)), "{context}");
}
