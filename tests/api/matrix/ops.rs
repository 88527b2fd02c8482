//! `/healthz` and `/readyz`: the probes are public; a session changes
//! nothing.

use super::rules::*;
use super::*;

pub(super) fn rows() -> Vec<Case> {
    vec![
        get("/healthz", "the process", |_| "/healthz".into()).expect(everyone_gets(OK)),
        get("/readyz", "the process and its database", |_| {
            "/readyz".into()
        })
        .expect(everyone_gets(OK)),
    ]
}

#[tokio::test]
async fn probes_answer_every_caller_alike() {
    run(rows()).await;
}
