//! Writes what the hub answered (`sse_server::mercure::Reply`) to the PHP request: a short
//! answer as every short answer is (`crate::short_answer`), or a subscription's event stream,
//! an [`AttachedStream`] with no PHP object, detached like `SseEmitter::detach()`.

use crate::attached::AttachedStream;
use crate::error::{Error, Result};
use crate::options::{ClockKind, Options};
use crate::short_answer::{self, Body};
use ext_php_rs::types::Zval;
use sse_server::mercure::Reply;

pub fn send(reply: Reply) -> Result<()> {
    match reply {
        Reply::Short(answer) => {
            short_answer::send(answer.status, &answer.headers, Some(Body { content_type: answer.content_type, bytes: answer.body.as_bytes() }));
            Ok(())
        }
        Reply::Stream(plan) => {
            let settings = plan.settings;
            let options = Options {
                retry: settings.retry,
                heartbeat: settings.heartbeat,
                max_duration: settings.max_duration,
                headers: plan.headers,
                clock: if settings.virtual_clock { ClockKind::Virtual } else { ClockKind::Real },
                ..Options::default()
            };
            // The hub's own stream: no PHP object and no PHP callbacks (nothing for `me` to name).
            let stream = AttachedStream::new(options);
            stream.subscribe(plan.subscription)?;
            stream.detach(&Zval::new()).map(drop).map_err(|failure| match failure.0 {
                Error::Misuse(reason) => Error::misuse(format!("Mercure hub: {reason}")).into(),
                other => other.into(),
            })
        }
    }
}
