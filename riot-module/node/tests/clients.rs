//! A real `alkyl-node` on loopback, driven by the real clients: libcoap's
//! `coap-client-notls` (block-wise PUT with `-b 64`, GET, POST, DELETE,
//! Observe) and `alkyl` (keygen, upload, ls, invoke, sensors, result, rm).

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;

#[test]
fn libcoap_client() {
    let (tmp, trusted) = Trusted::new(1);
    let (node, key) = (trusted.start(&[]), trusted.key);
    let uri = node.uri();
    let counter = compile_app("counter", tmp.path());
    let packed = alkyl(&["pack", counter.to_str().unwrap(), "-o", tmp.path().join("counter.rbf").to_str().unwrap()]);
    assert!(packed.status.success(), "{}", text(&packed));
    let container = std::fs::read(tmp.path().join("counter.rbf")).unwrap();

    // Block-wise PUT of a signed envelope in 64-byte blocks.
    let env = tmp.path().join("install.bin");
    std::fs::write(&env, install("counter", 1, &container, Some(&key))).unwrap();
    assert!(std::fs::metadata(&env).unwrap().len() > 128, "the envelope must need several blocks");
    let o = coap_client(&["-m", "put", "-b", "64", "-f", env.to_str().unwrap(), &format!("{uri}/apps/counter")]);
    assert_eq!(text(&o).trim(), "installed counter version 1", "{}", text(&o));

    let o = coap_client(&["-m", "get", &format!("{uri}/apps")]);
    let size = container.len();
    assert_eq!(text(&o).trim(), format!(r#"[{{"name":"counter","version":1,"size":{size},"runs":0}}]"#));
    for expected in ["0x1", "0x2"] {
        let o = coap_client(&["-m", "post", &format!("{uri}/apps/counter/run/increment")]);
        assert_eq!(text(&o).trim(), expected);
    }
    let o = coap_client(&["-m", "get", &format!("{uri}/apps/counter")]);
    let t = text(&o);
    assert!(t.contains(r#""entries":["increment","reset"]"#) && t.contains(r#""runs":2"#), "{t}");
    let o = coap_client(&["-m", "get", &format!("{uri}/apps/counter/result")]);
    assert_eq!(text(&o).trim(), "0x2");
    let o = coap_client(&["-m", "get", &format!("{uri}/.well-known/core")]);
    assert!(text(&o).contains("</apps/counter/result>;ct=0;obs"), "{}", text(&o));
    let o = coap_client(&["-m", "get", &format!("{uri}/sensors")]);
    assert!(text(&o).contains(r#""name":"temperature","class":130,"kind":"sensor","value":[2150]"#), "{}", text(&o));

    // A request payload becomes r1/r2: Fletcher32 over the sample input.
    let fletcher = asm_container(&std::fs::read_to_string(repo().join("apps/asm/fletcher32.s")).unwrap());
    let env2 = tmp.path().join("fletcher.bin");
    std::fs::write(&env2, install("fletcher32", 1, &fletcher, Some(&key))).unwrap();
    let o = coap_client(&["-m", "put", "-b", "64", "-f", env2.to_str().unwrap(), &format!("{uri}/apps/fletcher32")]);
    assert!(text(&o).contains("installed fletcher32"), "{}", text(&o));
    let sample = repo().join("apps/data/sample-361.bin");
    let o = coap_client(&["-m", "post", "-f", sample.to_str().unwrap(), &format!("{uri}/apps/fletcher32/run")]);
    assert_eq!(text(&o).trim(), "0xd4ce696f");

    // Signed DELETE.
    let del = tmp.path().join("delete.bin");
    std::fs::write(&del, delete("counter", 2, Some(&key))).unwrap();
    let o = coap_client(&["-m", "delete", "-f", del.to_str().unwrap(), &format!("{uri}/apps/counter")]);
    assert_eq!(text(&o).trim(), "deleted counter", "{}", text(&o));
    let o = coap_client(&["-m", "get", &format!("{uri}/apps/counter")]);
    assert!(text(&o).contains("4.04"), "{}", text(&o));
    assert!(text(&o).contains("no such app (sequence 2)"), "{}", text(&o));
}

#[test]
fn libcoap_observe() {
    let (tmp, trusted) = Trusted::new(2);
    let (node, key) = (trusted.start(&[]), trusted.key);
    let triggers = vec!["timer:300".parse().unwrap()];
    let env = tmp.path().join("tick.bin");
    std::fs::write(&env, install_with("tick", 1, &asm_container(COUNTER_ASM), triggers, Some(&key))).unwrap();
    let o = coap_client(&["-m", "put", "-f", env.to_str().unwrap(), &format!("{}/apps/tick", node.uri())]);
    assert!(text(&o).contains("installed tick"), "{}", text(&o));
    // Subscribe for 2 s: the timer runs the app every 300 ms.
    let o = coap_client(&["-s", "2", &format!("{}/apps/tick/result", node.uri())]);
    // coap-client prints each notification's payload without a separator.
    let values: Vec<u64> = String::from_utf8_lossy(&o.stdout)
        .split("0x")
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| u64::from_str_radix(v, 16).unwrap())
        .collect();
    assert!(values.len() >= 4, "too few notifications: {}", text(&o));
    assert!(values.windows(2).all(|w| w[1] > w[0]), "notifications not increasing: {values:?}");
}

/// A node in `tmp` trusting a fresh key made by `alkyl keygen`, with the
/// demo sensors; returns it and the secret key's path.
fn keyed_demo_node(tmp: &Path) -> (Node, PathBuf) {
    let o = alkyl(&["keygen", "--out", tmp.join("dev").to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let (secret, public) = (tmp.join("dev.key"), tmp.join("dev.pub"));
    let node = Node::start(
        &tmp.join("store"),
        &[
            "--trusted-key",
            public.to_str().unwrap(),
            "--sensors",
            repo().join("apps/demo-sensors.toml").to_str().unwrap(),
        ],
    );
    (node, secret)
}

#[test]
fn alkyl_client() {
    let tmp = tempfile::tempdir().unwrap();
    let (node, secret) = keyed_demo_node(tmp.path());
    let dev = node.uri();
    let k = secret.to_str().unwrap();
    let up = |name: &str, file: &str, extra: &[&str]| {
        // Every entry open: these apps are run by anyone (plain POST /apps/NAME/run).
        let mut args = vec!["upload", name, file, "--key", k, "--device", &dev, "--block-size", "64", "--open", "*"];
        args.extend_from_slice(extra);
        let o = alkyl(&args);
        assert!(o.status.success(), "upload {name}: {}", text(&o));
        text(&o)
    };
    let counter = compile_app("counter", tmp.path());
    let sensor = compile_app("coap_sensor", tmp.path());
    let thermostat = compile_app("thermostat", tmp.path());
    assert!(up("fletcher32", "apps/asm/fletcher32.s", &[]).contains("2.01 installed fletcher32 version 1"));
    assert!(up("counter", counter.to_str().unwrap(), &[]).contains("heatshrink-compressed"));
    up("sensor", sensor.to_str().unwrap(), &[]);
    up(
        "thermostat",
        thermostat.to_str().unwrap(),
        &["--trigger", "rising:0:2200:50@on_change", "--trigger", "falling:0:2200:50@on_change"],
    );
    // A second upload picks the next version by itself.
    assert!(up("counter", counter.to_str().unwrap(), &[]).contains("2.04 replaced counter version 2"));

    let invoke = |args: &[&str]| {
        let mut a = vec!["invoke"];
        a.extend_from_slice(args);
        a.extend_from_slice(&["--device", &dev]);
        let o = alkyl(&a);
        assert!(o.status.success(), "invoke {args:?}: {}", text(&o));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    let sample = repo().join("apps/data/sample-361.bin");
    assert_eq!(invoke(&["fletcher32", "--payload-file", sample.to_str().unwrap()]), "0xd4ce696f");
    assert_eq!(invoke(&["counter", "increment"]), "0x1");
    assert_eq!(invoke(&["counter", "increment"]), "0x2");
    let value: f64 = invoke(&["sensor"]).parse().unwrap();
    assert!((20.0..=23.0).contains(&value), "{value}");

    let o = alkyl(&["ls", "--device", &dev]);
    let t = text(&o);
    for name in ["counter", "fletcher32", "sensor", "thermostat"] {
        assert!(t.contains(name), "{t}");
    }
    let o = alkyl(&["sensors", "--device", &dev]);
    let t = text(&o);
    assert!(t.contains("temperature") && t.contains("heater") && t.contains("actuator"), "{t}");

    // The sine crosses 22.00 °C every 6 s: the thermostat runs and switches the heater.
    assert!(node.wait_for_line("heater on", Duration::from_secs(15)), "no trigger: {:?}", node.log());
    assert!(node.log().iter().any(|l| l.contains("[actuator heater] [0] -> [255]")), "{:?}", node.log());
    let o = alkyl(&["result", "thermostat", "--device", &dev]);
    let t: i64 = i64::from_str_radix(String::from_utf8_lossy(&o.stdout).trim().trim_start_matches("0x"), 16).unwrap();
    assert!((2200..=2300).contains(&t), "{t}");

    // Observe through alkyl: a timer trigger set by a signed command.
    let o = alkyl(&["triggers", "counter", "--trigger", "timer:200@increment", "--key", k, "--device", &dev]);
    assert!(o.status.success(), "{}", text(&o));
    let o = alkyl(&["result", "counter", "--watch", "3", "--device", &dev]);
    assert!(o.status.success(), "{}", text(&o));
    let lines: Vec<u64> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| u64::from_str_radix(l.trim_start_matches("0x"), 16).unwrap())
        .collect();
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert!(lines.windows(2).all(|w| w[1] > w[0]), "{lines:?}");

    // Errors are reported with the device's code and diagnostic.
    let o = alkyl(&["upload", "counter", counter.to_str().unwrap(), "--key", k, "--device", &dev, "--version", "1"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("4.09 version 1 is not newer than"), "{}", text(&o));
    let o = alkyl(&["invoke", "nothing", "--device", &dev]);
    assert!(text(&o).contains("4.04 no such app"), "{}", text(&o));

    let o = alkyl(&["rm", "counter", "--key", k, "--device", &dev]);
    assert!(o.status.success(), "{}", text(&o));
    let o = alkyl(&["ls", "--device", &dev]);
    assert!(!text(&o).contains("counter"), "{}", text(&o));
}

#[test]
fn apps_survive_a_restart() {
    let (_tmp, trusted) = Trusted::new(3);
    let mut node = trusted.start(&[]);
    let mut raw = Raw::new(node.addr);
    let r = raw.install("c", 1, COUNTER_ASM, &trusted.key);
    assert_eq!(r.code_text(), "2.01", "{}", r.text());
    for _ in 0..3 {
        raw.client.request(coap_lite::RequestType::Post, "apps/c/run", &[], b"").unwrap();
    }
    assert!(node.stop(), "no clean exit: {:?}", node.log());
    assert!(node.wait_for_line("stopped: ", Duration::from_secs(5)), "{:?}", node.log());
    let node = trusted.start(&[]);
    assert!(node.wait_for_line("1 app(s) loaded", Duration::from_secs(5)), "{:?}", node.log());
    let mut raw = Raw::new(node.addr);
    let r = raw.client.request(coap_lite::RequestType::Post, "apps/c/run", &[], b"").unwrap();
    assert_eq!(r.text(), "0x4");
}

#[test]
fn without_a_key_changes_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let node = Node::start(&tmp.path().join("store"), &[]);
    assert!(node.wait_for_line("no --trusted-key: refusing every change", Duration::from_secs(5)), "{:?}", node.log());
    let env = tmp.path().join("e.bin");
    std::fs::write(&env, install("x", 1, &asm_container("mov %r0, 1\nexit"), None)).unwrap();
    let o = coap_client(&["-m", "put", "-f", env.to_str().unwrap(), &format!("{}/apps/x", node.uri())]);
    assert!(text(&o).contains("4.05 no trusted key: changes are disabled"), "{}", text(&o));
    // Development mode takes unsigned uploads, loudly.
    let tmp2 = tempfile::tempdir().unwrap();
    let dev = Node::start(&tmp2.path().join("store"), &["--allow-unsigned"]);
    assert!(dev.wait_for_line("WARNING: --allow-unsigned", Duration::from_secs(5)));
    let o = coap_client(&["-m", "put", "-f", env.to_str().unwrap(), &format!("{}/apps/x", dev.uri())]);
    assert!(text(&o).contains("installed x version 1"), "{}", text(&o));
}

/// The AlkyVM smart lock, uploaded as Alkyl IR: the node translates and
/// verifies it, then runs its public and device-event functions over CoAP.
#[test]
fn alkyl_ir_smart_lock() {
    let tmp = tempfile::tempdir().unwrap();
    let (node, secret) = keyed_demo_node(tmp.path());
    let dev = node.uri();
    let lock = repo().join("apps/ir/smartlock.air");
    let o = alkyl(&["upload", "lock", lock.to_str().unwrap(), "--key", secret.to_str().unwrap(), "--device", &dev]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("installed lock version 1"), "{}", text(&o));
    let o = coap_client(&["-m", "get", &format!("{dev}/apps/lock")]);
    let meta = text(&o);
    assert!(meta.contains("alkyl-ir") && meta.contains("SetPin") && meta.contains("KeyPressed"), "{meta}");

    let call = |entry: &str, args: &[&str], signed: bool| {
        let mut a = vec!["invoke", "lock", entry, "--device", &dev];
        if signed {
            a.extend_from_slice(&["--key", secret.to_str().unwrap()]);
        }
        for v in args {
            a.extend_from_slice(&["--arg", v]);
        }
        let o = alkyl(&a);
        if !o.status.success() {
            return text(&o);
        }
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let in_an_hour = (now + 3600).to_string();
    // SetPin and KeyPressed are protected: nobody without the key sets a
    // pin (or presses keys over the network).
    let refused = call("SetPin", &["0x34333231", &in_an_hour], false);
    assert!(refused.contains("4.01"), "{refused}");
    assert!(call("KeyPressed", &["'1'"], false).contains("4.01"));
    // Until the gateway sets the clock, every pin has expired.
    assert_eq!(call("SetPin", &["0x34333231", &in_an_hour], true), "0x0");
    let keys = |pin: &str| pin.chars().map(|c| call("KeyPressed", &[&format!("'{c}'")], true)).collect::<Vec<_>>();
    assert_eq!(keys("1234"), ["0x0", "0x0", "0x0", "0x2"], "no clock: the pin is refused");
    let o = alkyl(&["time", "set", "--key", secret.to_str().unwrap(), "--device", &dev]);
    assert!(o.status.success(), "{}", text(&o));
    let o = alkyl(&["time", "--device", &dev]);
    let t: u64 = String::from_utf8_lossy(&o.stdout).trim().parse().unwrap();
    assert!(t / 1000 >= now && t / 1000 <= now + 60, "{t}");
    // The pin "1234" (first key in the low byte), valid for an hour.
    assert_eq!(keys("1299"), ["0x0", "0x0", "0x0", "0x2"], "a wrong pin beeps");
    assert!(node.wait_for_line("[actuator led]", Duration::from_secs(5)), "no beep: {:?}", node.log());
    assert_eq!(keys("1234"), ["0x0", "0x0", "0x0", "0x1"], "the right pin unlocks");
    assert!(node.wait_for_line("[actuator heater]", Duration::from_secs(5)), "no unlock: {:?}", node.log());
    // An expired pin does not open it.
    assert_eq!(call("SetPin", &["0x34333231", &(now - 10).to_string()], true), "0x0");
    assert_eq!(keys("1234"), ["0x0", "0x0", "0x0", "0x2"], "an expired pin beeps");

    // An IR module the device cannot accept is refused with its reason.
    let bad = tmp.path().join("bad.air");
    std::fs::write(&bad, ".public f w32\n    BITS32\n    ADD\n    RETURN\n").unwrap();
    let o = alkyl(&["upload", "lock", bad.to_str().unwrap(), "--key", secret.to_str().unwrap(), "--device", &dev]);
    assert!(!o.status.success());
}

/// The smart lock written in the Alkyl language (docs/alkyl-lang.md):
/// `alkyl upload` compiles the source to an IR module, the node compiles
/// and verifies it, and the lock behaves as apps/ir/smartlock.air over
/// CoAP — the paper's listing verbatim, and the version with the IR
/// lock's results (0 key taken, 1 unlocked, 2 beeped).
#[test]
fn alkyl_language_smart_lock() {
    let tmp = tempfile::tempdir().unwrap();
    let (node, secret) = keyed_demo_node(tmp.path());
    let dev = node.uri();
    for (name, file) in [("paper", "apps/alkyl/smartlock.alkyl"), ("lock", "apps/alkyl/smartlock-expiry.alkyl")] {
        let path = repo().join(file);
        let o = alkyl(&["upload", name, path.to_str().unwrap(), "--key", secret.to_str().unwrap(), "--device", &dev]);
        assert!(o.status.success(), "{}", text(&o));
        assert!(text(&o).contains(&format!("installed {name} version 1")), "{}", text(&o));
    }
    // SetPin and KeyPressed are protected: the gateway's signed calls. The
    // expiring lock reads the wall clock, which the gateway sets first.
    let o = alkyl(&["time", "set", "--key", secret.to_str().unwrap(), "--device", &dev]);
    assert!(o.status.success(), "{}", text(&o));
    let call = |app: &str, entry: &str, args: &[&str]| {
        let mut a = vec!["invoke", app, entry, "--device", &dev, "--key", secret.to_str().unwrap()];
        for v in args {
            a.extend_from_slice(&["--arg", v]);
        }
        let o = alkyl(&a);
        assert!(o.status.success(), "{app} {entry} {args:?}: {}", text(&o));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    let keys =
        |app: &str, pin: &str| pin.chars().map(|c| call(app, "KeyPressed", &[&format!("'{c}'")])).collect::<Vec<_>>();
    // The pin as a string argument (a char*), valid until 2084 (Unix seconds).
    assert_eq!(call("lock", "SetPin", &["\"1234\"", "3600000000"]), "0x0");
    assert_eq!(keys("lock", "1299"), ["0x0", "0x0", "0x0", "0x2"], "a wrong pin beeps");
    assert!(node.wait_for_line("[actuator led]", Duration::from_secs(5)), "no beep: {:?}", node.log());
    // The paper's listing (void functions): the right pin unlocks.
    assert_eq!(call("paper", "SetPin", &["\"4321\"", "3600000000"]), "0x0");
    assert_eq!(keys("paper", "4321"), ["0x0"; 4]);
    assert!(node.wait_for_line("[actuator heater]", Duration::from_secs(5)), "no unlock: {:?}", node.log());
    // After the wrong attempt, the next one starts afresh.
    assert_eq!(keys("lock", "1234"), ["0x0", "0x0", "0x0", "0x1"], "the right pin unlocks");
}
