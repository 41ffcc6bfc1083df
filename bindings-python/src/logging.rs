//! Core's `tracing` events reach Python's `logging` (logger `imagecheck`).
//!
//! Only events of imagecheck's own targets at DEBUG and above are forwarded; that is decided
//! per callsite, once, so every other callsite (and every TRACE one) stays disabled at no cost.
//! For a forwarded event the GIL is taken, `logger.isEnabledFor(level)` is asked, and only
//! then is the message formatted. The warm resolve path emits no events.

use std::fmt::{self, Write as _};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;
use tracing::field::{Field, Visit};
use tracing::metadata::LevelFilter;
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

/// The Python logger name.
pub(crate) const LOGGER_NAME: &str = "imagecheck";

static LOGGER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

struct PythonLogging;

fn forwarded(metadata: &Metadata<'_>) -> bool {
    metadata.is_event()
        && *metadata.level() <= Level::DEBUG
        && (metadata.target() == "imagecheck" || metadata.target().starts_with("imagecheck::"))
}

fn python_level(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 40,
        Level::WARN => 30,
        Level::INFO => 20,
        Level::DEBUG => 10,
        Level::TRACE => 5,
    }
}

impl<S: Subscriber> Layer<S> for PythonLogging {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if forwarded(metadata) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        forwarded(metadata)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::DEBUG)
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let level = python_level(event.metadata().level());
        // None while the interpreter starts or finalizes: the event is dropped.
        Python::try_attach(|py| {
            // A logging failure must not become an imagecheck failure: drop it.
            let _ = emit(py, level, event);
        });
    }
}

fn emit(py: Python<'_>, level: u8, event: &Event<'_>) -> PyResult<()> {
    let logger = LOGGER
        .get_or_try_init(py, || {
            py.import("logging")?
                .call_method1("getLogger", (LOGGER_NAME,))
                .map(Bound::unbind)
        })?
        .bind(py);
    if !logger.call_method1("isEnabledFor", (level,))?.is_truthy()? {
        return Ok(());
    }
    let mut fields = Fields::default();
    event.record(&mut fields);
    let extra = PyDict::new(py);
    extra.set_item("imagecheck_target", event.metadata().target())?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("extra", extra)?;
    logger.call_method("log", (level, "%s", fields.text), Some(&kwargs))?;
    Ok(())
}

/// `message key=value key=value`.
#[derive(Default)]
struct Fields {
    text: String,
}

impl Fields {
    fn separate(&mut self) {
        if !self.text.is_empty() {
            self.text.push(' ');
        }
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.text.insert_str(0, value);
        } else {
            self.separate();
            let _ = write!(self.text, "{}={value:?}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.text.insert_str(0, &format!("{value:?}"));
        } else {
            self.separate();
            let _ = write!(self.text, "{}={value:?}", field.name());
        }
    }
}

/// Install the forwarding subscriber for this library's copy of `tracing` (each extension
/// module links its own copy, so this does not clash with other Rust extensions).
pub(crate) fn install() {
    let subscriber = tracing_subscriber::registry().with(PythonLogging);
    // Fails only if already installed (a second import of the module in one process).
    let _ = tracing::subscriber::set_global_default(subscriber);
}
