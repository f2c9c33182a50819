//! A real rnacos on loopback for tests (feature `testing`): free ports, a
//! data folder of its own, killed on drop. `RNACOS_BIN` names the binary;
//! else scripts/setup-system.sh's install in the tools folder.

// Test support may panic: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{NacosConfig, NacosRegistry};

/// rnacos on free ports; killed on drop.
#[derive(Debug)]
pub struct Rnacos {
    child: Child,
    pub http_port: u16,
    _data: TempDir,
}

#[derive(Debug)]
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Drop for Rnacos {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn rnacos_bin() -> String {
    if let Ok(bin) = std::env::var("RNACOS_BIN") {
        return bin;
    }
    let tools = std::env::var("ADUIB_TOOLS").unwrap_or_else(|_| {
        format!(
            "{}/.cache/aduib-workbench/tools",
            std::env::var("HOME").unwrap_or_default()
        )
    });
    let bin = format!("{tools}/bin/rnacos");
    assert!(
        std::path::Path::new(&bin).is_file(),
        "rnacos is not installed at {bin}: scripts/setup-system.sh installs it"
    );
    bin
}

impl Rnacos {
    pub fn start() -> Rnacos {
        Rnacos::start_with(&[])
    }

    /// rnacos with its open API behind a login as `username`/`password`
    /// (letters, digits and `-` only), returned once that login works.
    pub fn start_with_login(username: &str, password: &str) -> Rnacos {
        // rnacos adds its first user once it has elected itself leader: at
        // 500 ms, else once more 10 s later, then never. Under load both can
        // miss, so a server that has not taken the login by then is
        // replaced by a fresh one.
        for _ in 0..3 {
            let server = Rnacos::start_with(&[
                ("RNACOS_ENABLE_OPEN_API_AUTH", "true"),
                ("RNACOS_INIT_ADMIN_USERNAME", username),
                ("RNACOS_INIT_ADMIN_PASSWORD", password),
            ]);
            let deadline = Instant::now() + Duration::from_secs(12);
            while Instant::now() < deadline {
                if server.login_works(username, password) {
                    return server;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        panic!("three rnacos servers in a row never accepted the login");
    }

    fn login_works(&self, username: &str, password: &str) -> bool {
        use std::io::{Read, Write};
        let Ok(mut socket) = std::net::TcpStream::connect(("127.0.0.1", self.http_port)) else {
            return false;
        };
        let form = format!("username={username}&password={password}");
        let request = format!(
            "POST /nacos/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n\
             Content-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{form}",
            form.len()
        );
        let mut reply = String::new();
        socket.write_all(request.as_bytes()).is_ok()
            && socket.read_to_string(&mut reply).is_ok()
            && reply.starts_with("HTTP/1.1 200")
            && reply.contains("accessToken")
    }

    /// rnacos whose gRPC port is not where clients look for it (the HTTP
    /// port + 1000): as a Nacos without gRPC looks to them.
    pub fn start_with_grpc_elsewhere() -> Rnacos {
        Rnacos::start_with(&[("RNACOS_GRPC_PORT", &free_port().to_string())])
    }

    fn start_with(env: &[(&str, &str)]) -> Rnacos {
        // The gRPC port is the HTTP port + 1000, as Nacos clients assume
        // (`env` may move it).
        let (http_port, grpc_port) = loop {
            let http = free_port();
            if http < 64000 && TcpListener::bind(("127.0.0.1", http + 1000)).is_ok() {
                break (http, http + 1000);
            }
        };
        let grpc_port = env
            .iter()
            .find(|(name, _)| *name == "RNACOS_GRPC_PORT")
            .map_or(grpc_port, |(_, port)| port.parse().unwrap());
        let data = std::env::temp_dir().join(format!("rnacos-{}-{http_port}", std::process::id()));
        std::fs::create_dir_all(&data).unwrap();
        let child = Command::new(rnacos_bin())
            .env("RNACOS_SDK_HOST", "127.0.0.1")
            .env("RNACOS_CONSOLE_HOST", "127.0.0.1")
            .env("RNACOS_DATA_DIR", &data)
            .env("RNACOS_HTTP_PORT", http_port.to_string())
            .env("RNACOS_GRPC_PORT", grpc_port.to_string())
            .env("RNACOS_HTTP_CONSOLE_PORT", free_port().to_string())
            .env("RNACOS_RAFT_NODE_ADDR", format!("127.0.0.1:{grpc_port}"))
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = Rnacos {
            child,
            http_port,
            _data: TempDir(data),
        };
        // Both ports: rnacos opens gRPC after HTTP, and a Nacos client that
        // finds gRPC shut backs off for seconds before it tries again.
        let deadline = Instant::now() + Duration::from_secs(20);
        for port in [http_port, grpc_port] {
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(Instant::now() < deadline, "rnacos did not open port {port}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        server
    }

    pub fn registry(&self) -> NacosRegistry {
        NacosRegistry::new(NacosConfig {
            address: format!("127.0.0.1:{}", self.http_port),
            ..NacosConfig::default()
        })
        .unwrap()
    }
}

impl Rnacos {
    /// `host:port` of its HTTP API.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.http_port)
    }
}
