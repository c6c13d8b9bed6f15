//! The SMS gateway interface. Deployments plug in their provider; the demo and the tests use
//! [`LogSms`], which writes each message to the log and keeps the last ones for inspection.

use std::collections::VecDeque;
use std::sync::Mutex;

pub trait SmsSender: Send + Sync {
    /// Sends `text` to `phone`. Errors are messages for the log.
    fn send(&self, phone: &str, text: &str) -> Result<(), String>;
}

/// Writes messages to the log (phone masked) and remembers the last 100.
#[derive(Default)]
pub struct LogSms {
    sent: Mutex<VecDeque<(String, String)>>,
}

impl LogSms {
    /// The last messages sent to `phone`, oldest first.
    pub fn sent_to(&self, phone: &str) -> Vec<String> {
        self.sent.lock().expect("sms log lock").iter().filter(|(p, _)| p == phone).map(|(_, t)| t.clone()).collect()
    }
}

impl SmsSender for LogSms {
    fn send(&self, phone: &str, text: &str) -> Result<(), String> {
        tracing::info!(to = %gridkeeper_store::vault::mask_phone(phone), %text, "sms (log sender)");
        let mut sent = self.sent.lock().expect("sms log lock");
        if sent.len() == 100 {
            sent.pop_front();
        }
        sent.push_back((phone.to_string(), text.to_string()));
        Ok(())
    }
}
