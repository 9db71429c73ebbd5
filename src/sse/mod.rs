//! Server-Sent Events (WHATWG HTML, "Server-sent events").
