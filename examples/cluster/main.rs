//! A Redis Streams backplane (issue 18): see examples/cluster/README.md.
//!
//! ```text
//! cargo run --release --example cluster --features hyper -- node --redis redis://127.0.0.1:6379/ --listen 127.0.0.1:3000
//! cargo run --release --example cluster --features hyper -- load [--quick]
//! ```

mod client;
mod load;
#[allow(dead_code)] // NodeThread and the counters are for tests/cluster.rs
mod node;
#[allow(dead_code)]
mod redis_server;

use std::net::SocketAddr;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    match args.first().map(String::as_str) {
        Some("node") => {
            let redis = flag("--redis").unwrap_or_else(|| "redis://127.0.0.1:6379/".into());
            let listen: SocketAddr = flag("--listen")
                .unwrap_or_else(|| "127.0.0.1:3000".into())
                .parse()
                .expect("--listen ADDR");
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let node = node::start(node::Config::new(&redis, listen))
                    .await
                    .unwrap_or_else(|e| {
                        eprintln!("cluster node: {e}");
                        std::process::exit(1)
                    });
                // The load run reads the address from here.
                println!("listening {}", node.addr);
                std::future::pending::<()>().await;
            });
        }
        Some("load") => load::run(&load::Options::parse(&args)),
        _ => {
            eprintln!("usage: cluster node [--redis URL] [--listen ADDR] | cluster load [--quick]");
            std::process::exit(2);
        }
    }
}
