//! A call step's answer as TwiML: what is said, then how the call waits (`<Gather>`,
//! `<Record>`), transfers (`<Dial>`) or ends, with the URLs the next webhook comes back to.

use super::*;

/// How long a transfer to staff rings before the caller is offered a message.
const DIAL_TIMEOUT_SECONDS: u32 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ending {
    /// As the step says: wait for input, or hang up.
    Flow,
    /// Transfer the caller to staff.
    Dial,
}

fn say(st: &AppState, prompts: &[Prompt], slots: &Slots) -> Vec<Say> {
    let words = st.flows.words();
    prompts
        .iter()
        .map(|p| Say::new(p.lang, words.render(p.lang, &p.key, slots)))
        .collect()
}

/// Where an answer's `<Gather>`, `<Record>` and `<Dial>` send what happens next: the answer
/// number the next webhook must carry and, on a call back, its conversation.
pub(super) struct Urls {
    step: String,
    dialed: String,
    recording: String,
    transcription: String,
}

impl Urls {
    pub(super) fn new(seq: u32, via: Option<&str>) -> Urls {
        let c = via.map(|c| format!("&c={c}")).unwrap_or_default();
        let only_c = via.map(|c| format!("?c={c}")).unwrap_or_default();
        Urls {
            step: format!("/twilio/voice/step?n={seq}{c}"),
            dialed: format!("/twilio/voice/dialed?n={seq}{c}"),
            recording: format!("/twilio/voice/recording{only_c}"),
            transcription: format!("/twilio/voice/transcription{only_c}"),
        }
    }
}

pub(super) fn render(
    st: &AppState,
    said: &[Prompt],
    step: &Step,
    ending: Ending,
    urls: &Urls,
    slots: &Slots,
) -> String {
    let lang = step.cursor.lang;
    let mut r = VoiceResponse::new();
    for s in say(st, said, slots) {
        r = r.say(s);
    }
    let step_url = urls.step.clone();
    if ending == Ending::Dial {
        return match st.settings.staff_phone.as_deref() {
            Some(staff) => r
                .dial(
                    Dial::number(staff)
                        .timeout(DIAL_TIMEOUT_SECONDS)
                        .action(urls.dialed.clone()),
                )
                .to_xml(),
            // No staff line: the transfer ends as unanswered at once.
            None => r.redirect(urls.dialed.clone()).to_xml(),
        };
    }
    match &step.next {
        Next::Wait {
            ask,
            expect,
            timeout_seconds,
            ..
        } => {
            let asks = say(st, ask, slots);
            match expect {
                Expect::Record { max_seconds } => {
                    for s in asks {
                        r = r.say(s);
                    }
                    r.record(
                        Record::new()
                            .max_length(*max_seconds)
                            .action(step_url.clone())
                            .recording_status_callback(urls.recording.clone())
                            .transcribe_callback(urls.transcription.clone())
                            .play_beep(true),
                    )
                    // Silence: Twilio goes on to the next verb.
                    .redirect(step_url)
                    .to_xml()
                }
                _ => {
                    let mut g = Gather::new(step_url.clone())
                        .timeout(*timeout_seconds)
                        .language(lang);
                    g = match expect {
                        Expect::Menu { speech, .. } | Expect::YesNo { speech } => {
                            g.num_digits(1).input(if *speech {
                                GatherInput::DtmfSpeech
                            } else {
                                GatherInput::Dtmf
                            })
                        }
                        Expect::Digits {
                            min,
                            max,
                            finish,
                            speech,
                        } => {
                            let mut g = g.input(if *speech {
                                GatherInput::DtmfSpeech
                            } else {
                                GatherInput::Dtmf
                            });
                            if let Some(f) = finish {
                                g = g.finish_on_key(f.to_string());
                            }
                            if min == max {
                                g = g.num_digits(*max);
                            }
                            g
                        }
                        Expect::Speech { .. } => g.input(GatherInput::DtmfSpeech),
                        Expect::Record { .. } | Expect::Keyword => g,
                    };
                    for s in asks {
                        g = g.say(s);
                    }
                    // Silence after the gather: Twilio goes on to the redirect.
                    r.gather(g).redirect(step_url).to_xml()
                }
            }
        }
        Next::End | Next::Run(_) => r.hangup().to_xml(),
    }
}

/// The call is over or unknown: a polite goodbye.
pub(super) fn goodbye(st: &AppState, lang: Lang) -> String {
    let slots = Slots::new().with(crate::flows::Slot::City, st.settings.city.name.clone());
    let text = st.flows.words().render(lang, "voice_goodbye", &slots);
    VoiceResponse::new()
        .say(Say::new(lang, text))
        .hangup()
        .to_xml()
}

/// Something of ours failed: logged, and the caller hears where else to turn.
pub(super) fn trouble(st: &AppState, lang: Lang, error: &VoiceError) -> String {
    tracing::error!(error = %error, "the help line could not answer a call step");
    let slots = actions::slots(st, lang, &CallFacts::default());
    let text = st.flows.words().render(lang, "voice_trouble", &slots);
    VoiceResponse::new()
        .say(Say::new(lang, text))
        .hangup()
        .to_xml()
}
