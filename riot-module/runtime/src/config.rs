//! Limits and quotas of a runtime. Every quota is checked with checked
//! arithmetic where it is enforced; the defaults fit an nRF52840 (256 KiB
//! RAM) with room for the network stack.

/// The runtime's limits. [`Config::DEFAULT`] is what the RIOT build and the
/// host node use unless told otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Most apps installed at once.
    pub max_apps: usize,
    /// Largest container (decompressed) one app may have, in bytes.
    pub max_app_bytes: usize,
    /// Sum of every installed container's bytes plus its `.data`/`.bss`.
    pub max_total_bytes: usize,
    /// Largest upload envelope (as sent, compressed), in bytes.
    pub max_envelope_bytes: usize,
    /// Block-wise uploads in progress at once.
    pub max_uploads: usize,
    /// An upload with no block for this long is dropped.
    pub upload_timeout_ms: u64,
    /// Names remembered with their last sequence after deletion
    /// (anti-rollback for deleted apps).
    pub max_retired_names: usize,
    /// Instructions per run.
    pub budget: u64,
    /// Largest stack a script may declare (containers declare their need,
    /// at most 512; a run maps exactly the declared stack).
    pub max_stack: usize,
    /// Keys an app may hold in its own key-value namespace.
    pub kv_entries_per_app: usize,
    /// Keys in the global namespace.
    pub kv_global_entries: usize,
    /// Triggers an app may declare.
    pub max_triggers: usize,
    /// Shortest timer or sensor polling period, in milliseconds.
    pub min_period_ms: u32,
    /// Size of the CoAP packet buffer a CoAP-triggered run builds its
    /// response in.
    pub coap_buffer_len: usize,
    /// Longest a script may wait in `ztimer_periodic_wakeup`, per call.
    pub max_sleep_us: u64,
    /// Largest response payload sent in one message; longer ones are sent
    /// block-wise (Block2) to clients that ask for the next block.
    pub max_response_payload: usize,
    /// Reports queued for the gateway at once (a full queue refuses new
    /// ones: `bpf_report` returns `ALKYL_ENOSPC`).
    pub max_reports: usize,
    /// Largest signed command (invocation or set-time), in bytes.
    pub max_command_bytes: usize,
    /// Wall-time limit of one run, in milliseconds, besides the instruction
    /// budget: a helper that waits stops the run with
    /// `TrapKind::TimeLimit` once it has passed (`docs/helpers.md`).
    pub max_run_ms: u64,
    /// Time each app's trigger runs may take per second, in milliseconds;
    /// beyond it the app's triggers are skipped until its second is over
    /// (`docs/coap-api.md`, "Fairness").
    pub trigger_share_ms: u64,
    /// Block-wise uploads one peer may have in progress at once.
    pub max_uploads_per_peer: usize,
}

impl Config {
    /// The defaults.
    pub const DEFAULT: Config = Config {
        max_apps: 8,
        max_app_bytes: 16 * 1024,
        max_total_bytes: 64 * 1024,
        max_envelope_bytes: 16 * 1024,
        max_uploads: 2,
        upload_timeout_ms: 60_000,
        max_retired_names: 32,
        budget: alkyl_vm::DEFAULT_BUDGET,
        max_stack: alkyl_vm::STACK_SIZE,
        kv_entries_per_app: 32,
        kv_global_entries: 64,
        max_triggers: 4,
        min_period_ms: 10,
        coap_buffer_len: 256,
        max_sleep_us: 10_000,
        max_response_payload: 512,
        max_reports: 16,
        max_command_bytes: 1024,
        max_run_ms: 50,
        trigger_share_ms: 100,
        max_uploads_per_peer: 1,
    };
}

impl Default for Config {
    fn default() -> Self {
        Config::DEFAULT
    }
}
