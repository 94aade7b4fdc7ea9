//! A small HTTP/1.1 file server the tests start on the controller's lab
//! bridge address, so that lab hosts can download from it (`get_url`,
//! `apt_repository`, `deb822_repository`, `git` over dumb HTTP). It serves
//! one directory read-only (GET and HEAD, keep-alive, so apt's pipelining
//! works) and records every request, so a test can tell whether a host
//! downloaded something.
//!
//! Two prefixes behave specially, for the modules' auth and header params:
//! - `/private/...` answers 401 unless the request carries basic auth
//!   `PRIVATE_USER:PRIVATE_PASSWORD`;
//! - `/needs-header/...` answers 403 unless it carries `X-Fleet-Test: yes`.
//!
//! The server stops when it is dropped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;

/// The user and password `/private/` wants.
pub const PRIVATE_USER: &str = "fleet";
pub const PRIVATE_PASSWORD: &str = "fleet-secret";

/// One request the server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub status: u16,
}

/// A running server.
pub struct FileServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    requests: Arc<Mutex<Vec<Request>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FileServer {
    /// Serves `root` on `ip` (an ephemeral port).
    pub fn start(root: &Path, ip: IpAddr) -> FileServer {
        let listener = TcpListener::bind((ip, 0))
            .unwrap_or_else(|err| panic!("file server cannot bind {ip}: {err}"));
        let addr = listener.local_addr().expect("local address");
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let root = root.to_path_buf();
        let thread = {
            let (stop, requests) = (stop.clone(), requests.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (root, requests) = (root.clone(), requests.clone());
                    std::thread::spawn(move || serve_connection(stream, &root, &requests));
                }
            })
        };
        FileServer {
            addr,
            stop,
            requests,
            thread: Some(thread),
        }
    }

    /// `http://IP:PORT`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request answered so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// How many GET requests asked for `path`.
    pub fn gets_of(&self, path: &str) -> usize {
        self.requests()
            .iter()
            .filter(|request| request.method == "GET" && request.path == path)
            .count()
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The controller's address as `host_address` sees it: the source address
/// the kernel picks to reach it (the lab bridge's, for a lab host).
pub fn controller_address_for(host_address: &str) -> IpAddr {
    let socket = UdpSocket::bind("0.0.0.0:0").expect("udp socket");
    socket
        .connect((host_address, 9))
        .unwrap_or_else(|err| panic!("no route to {host_address}: {err}"));
    socket.local_addr().expect("local address").ip()
}

fn serve_connection(stream: TcpStream, root: &Path, requests: &Mutex<Vec<Request>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    while let Some(head) = read_head(&mut reader) {
        let (status, body, keep_alive) = answer(&head, root);
        requests.lock().unwrap().push(Request {
            method: head.method.clone(),
            path: head.path.clone(),
            status,
        });
        let reason = match status {
            200 => "OK",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            _ => "Method Not Allowed",
        };
        let mut response = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\n",
            body.len()
        );
        if status == 401 {
            response.push_str("WWW-Authenticate: Basic realm=\"fleet\"\r\n");
        }
        if !keep_alive {
            response.push_str("Connection: close\r\n");
        }
        response.push_str("\r\n");
        let mut bytes = response.into_bytes();
        if head.method != "HEAD" {
            bytes.extend_from_slice(&body);
        }
        if writer
            .write_all(&bytes)
            .and_then(|()| writer.flush())
            .is_err()
            || !keep_alive
        {
            break;
        }
    }
    let _ = writer.shutdown(Shutdown::Both);
}

struct Head {
    method: String,
    path: String,
    version: String,
    headers: Vec<(String, String)>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

fn read_head(reader: &mut BufReader<TcpStream>) -> Option<Head> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut words = line.split_whitespace();
    let method = words.next()?.to_string();
    let target = words.next()?;
    let version = words.next().unwrap_or("HTTP/1.0").to_string();
    let path = target.split('?').next().unwrap_or(target).to_string();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((key, value)) = line.split_once(':') {
            headers.push((key.trim().to_string(), value.trim().to_string()));
        }
    }
    let length: u64 = headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0);
    std::io::copy(&mut reader.by_ref().take(length), &mut std::io::sink()).ok()?;
    Some(Head {
        method,
        path,
        version,
        headers,
    })
}

/// The status, the body and whether the connection stays open.
fn answer(head: &Head, root: &Path) -> (u16, Vec<u8>, bool) {
    let keep_alive = match head.header("connection") {
        Some(value) if value.eq_ignore_ascii_case("close") => false,
        Some(value) if value.eq_ignore_ascii_case("keep-alive") => true,
        _ => head.version == "HTTP/1.1",
    };
    if head.method != "GET" && head.method != "HEAD" {
        return (405, b"only GET and HEAD\n".to_vec(), false);
    }
    if head.path.starts_with("/private/") {
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD
                .encode(format!("{PRIVATE_USER}:{PRIVATE_PASSWORD}"))
        );
        if head.header("authorization") != Some(expected.as_str()) {
            return (401, b"authentication required\n".to_vec(), keep_alive);
        }
    }
    if head.path.starts_with("/needs-header/") && head.header("x-fleet-test") != Some("yes") {
        return (403, b"X-Fleet-Test: yes is required\n".to_vec(), keep_alive);
    }
    match local_path(root, &head.path).and_then(|path| std::fs::read(path).ok()) {
        Some(body) => (200, body, keep_alive),
        None => (404, b"not found\n".to_vec(), keep_alive),
    }
}

/// The file under `root` that `path` names, refusing `..`.
fn local_path(root: &Path, path: &str) -> Option<PathBuf> {
    let relative = Path::new(path.trim_start_matches('/'));
    if relative
        .components()
        .any(|part| !matches!(part, Component::Normal(_)))
    {
        return None;
    }
    let full = root.join(relative);
    full.is_file().then_some(full)
}
