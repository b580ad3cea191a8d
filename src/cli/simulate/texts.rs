//! `helpline simulate text`: texts to the help line from the terminal, each posted to
//! `/twilio/sms` signed as Twilio signs it, and the replies of the TwiML answer shown.

use std::io::BufRead;

use super::twiml::{self, Method};
use super::{Failure, Settings, TextArgs, call, ends, other, show};
use call::Request;

pub(super) async fn texts(args: &TextArgs, settings: &Settings) -> Result<(), Failure> {
    let ends = ends(&args.line, settings)?;
    let url = ends.at("/twilio/sms")?;
    let mut out = std::io::stdout();
    let send = async |text: &str, out: &mut std::io::Stdout| -> Result<(), Failure> {
        show(out, &format!("📱 {} texts {}: {text}", ends.from, ends.to))?;
        let sid = call::sid("SM");
        let request = Request {
            method: Method::Post,
            url: url.clone(),
            params: [
                ("MessageSid", sid.as_str()),
                ("SmsSid", sid.as_str()),
                ("AccountSid", &ends.account_sid),
                ("From", &ends.from),
                ("To", &ends.to),
                ("Body", text),
                ("NumMedia", "0"),
                ("NumSegments", "1"),
                ("ApiVersion", "2010-04-01"),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        };
        let body = ends.line.send(&request, out).await?;
        let replies = twiml::messages(&body).map_err(|e| other(format!("the reply: {e}")))?;
        if replies.is_empty() {
            show(out, "   (no reply)")?;
        }
        for reply in replies {
            show(out, &format!("💬 {reply}"))?;
        }
        Ok(())
    };
    match &args.text {
        Some(text) => send(text, &mut out).await,
        None => {
            let stdin = std::io::stdin();
            for line in stdin.lock().lines() {
                let line = line.map_err(other)?;
                send(line.trim_end(), &mut out).await?;
            }
            Ok(())
        }
    }
}
