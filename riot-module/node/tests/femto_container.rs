//! Femto-Container CoAP applications, unchanged and built their way
//! (`testkit/fixtures/femto-container`), uploaded with their convention
//! declared and run on a real `alkyl-node` by libcoap's client.

mod common;

use common::*;

use alkyl_testkit::clang::{compile_femto_container, femto_container_fixtures};

#[test]
fn femto_container_handlers_answer_over_coap() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, secret, public) = test_key(tmp.path(), 7);
    let node = Node::start(&tmp.path().join("store"), &["--trusted-key", public.to_str().unwrap()]);
    let dev = node.uri();
    for (name, app) in [("sample", "sample_gcoap"), ("counter", "counter_fetch_gcoap")] {
        let object = tmp.path().join(format!("{app}.o"));
        compile_femto_container(&femto_container_fixtures().join(format!("{app}.c")), &object)
            .unwrap_or_else(|e| panic!("{e}"));
        let o = alkyl(&[
            "upload",
            name,
            object.to_str().unwrap(),
            "--convention",
            "femto-container",
            // Their handlers are open to any client, as on Femto-Container.
            "--open",
            "*",
            "--open",
            "-",
            "--key",
            secret.to_str().unwrap(),
            "--device",
            &dev,
        ]);
        assert!(o.status.success(), "{}", text(&o));
    }
    // sample_gcoap writes "hello" through pkt->payload_p.
    let o = coap_client(&["-m", "post", &format!("{dev}/apps/sample/run/coap_resp")]);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim_end(), "hello", "{}", text(&o));
    // counter_fetch_gcoap: the global counter (0 here) as text/plain.
    let o = coap_client(&["-m", "post", &format!("{dev}/apps/counter/run")]);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim_end(), "0", "{}", text(&o));
    // The same through `alkyl invoke`.
    let o = alkyl(&["invoke", "sample", "--device", &dev]);
    assert!(o.status.success() && text(&o).contains("hello"), "{}", text(&o));
}
