//! A deliberately badly behaved generator, for the host's tests.
//!
//! The `mode` setting picks the misbehaviour. Modes that probe the sandbox
//! (`read-file`, `read-env`, `socket`) return an error describing what the
//! sandbox answered, or a body with whatever leaked if the probe succeeded.

use wasmpush_guest::{Error, Event, EventKind, Generator, Info, Level, Report, export_generator, log};

struct Hostile;

/// Recursion the optimiser cannot turn into a loop: every frame keeps a
/// buffer alive across the call.
#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    let buf = std::hint::black_box([depth as u8; 256]);
    let below = recurse(std::hint::black_box(depth + 1));
    std::hint::black_box(&buf);
    below ^ u64::from(buf[(depth % 256) as usize])
}

impl Generator for Hostile {
    fn info() -> Info {
        Info::new("hostile", env!("CARGO_PKG_VERSION"))
            .description("misbehaves on purpose; see the `mode` setting")
            .events(&[EventKind::BuildNew, EventKind::BuildFinished, EventKind::BuildsetComplete])
    }

    fn generate(event: &Event) -> Result<Option<Report>, Error> {
        let mode = event.setting_or("mode", "none");
        match mode {
            "loop" => loop {
                std::hint::black_box(());
            },
            "alloc" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "recurse" => Ok(Some(Report::text(recurse(0).to_string()))),
            "panic" => panic!("hostile generator panicked on purpose"),
            "error" => Err(Error::new("hostile generator returned an error on purpose")),
            "big-output" => Ok(Some(Report::new(vec![b'x'; 8 << 20], "text/plain"))),
            "many-headers" => Ok(Some((0..100).fold(Report::text("x"), |r, i| r.header(&format!("X-Many-{i}"), "1")))),
            "big-headers" => Ok(Some(Report::text("x").header("X-Big", &"h".repeat(20 << 10)))),
            // A body under max_output whose headers push the report over it.
            "big-report" => {
                let body = vec![b'x'; (1 << 20) - 4096];
                Ok(Some(
                    (0..8).fold(Report::new(body, "text/plain"), |r, i| {
                        r.header(&format!("X-Pad-{i}"), &"p".repeat(1000))
                    }),
                ))
            }
            "empty-log-spam" => {
                for _ in 0..1_000_000 {
                    log(Level::Info, "");
                }
                Ok(Some(Report::text("logged nothing, often")))
            }
            "log-spam" => {
                for i in 0..100_000 {
                    log(Level::Info, &format!("spam line {i} {}", "y".repeat(100)));
                }
                Ok(Some(Report::text("logged a lot")))
            }
            "stdout-spam" => {
                for i in 0..100_000 {
                    println!("stdout spam line {i}");
                    eprintln!("stderr spam line {i}");
                }
                Ok(Some(Report::text("printed a lot")))
            }
            "read-file" => match std::fs::read_to_string("/etc/passwd") {
                Ok(text) => Ok(Some(Report::text(text))),
                Err(e) => Err(Error::new(format!("sandbox denied reading /etc/passwd: {e}"))),
            },
            "read-env" => {
                let vars: Vec<String> = std::env::vars().map(|(k, v)| format!("{k}={v}")).collect();
                if vars.is_empty() {
                    Err(Error::new("sandbox gave no environment variables"))
                } else {
                    Ok(Some(Report::text(vars.join("\n"))))
                }
            }
            "socket" => match std::net::TcpStream::connect("127.0.0.1:9") {
                Ok(_) => Ok(Some(Report::text("connected to 127.0.0.1:9"))),
                Err(e) => Err(Error::new(format!("sandbox denied a TCP connection: {e}"))),
            },
            "set-authorization" => Ok(Some(Report::text("x").header("Authorization", "Bearer stolen"))),
            "crlf-header" => Ok(Some(Report::text("x").header("X-Note", "a\r\nX-Injected: 1"))),
            "path-escape" => Ok(Some(Report::text("x").path(event.setting_or("path", "../escape")))),
            "exit" => std::process::exit(3),
            _ => Ok(Some(Report::text(format!("hostile generator in harmless mode {mode:?}")))),
        }
    }
}

export_generator!(Hostile);
