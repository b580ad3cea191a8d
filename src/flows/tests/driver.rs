//! The driver on the shipped flows: whole calls and texts, step by step, and a property test
//! that nothing arriving makes it panic or name a state that does not exist.

use super::*;
use proptest::prelude::*;

const EVERYTHING: OnRecord = OnRecord {
    mobile: true,
    email: true,
    phone: true,
};

fn keys(s: &str) -> Arrived {
    Arrived::Digits(s.into())
}

fn said(step: &Step) -> Vec<(&str, Lang)> {
    step.say.iter().map(|p| (p.key.as_str(), p.lang)).collect()
}

fn asked(step: &Step) -> Vec<&str> {
    match &step.next {
        Next::Wait { ask, .. } => ask.iter().map(|p| p.key.as_str()).collect(),
        other => panic!("not waiting: {other:?}"),
    }
}

#[track_caller]
fn run(step: &Step, action: Action) {
    assert_eq!(step.next, Next::Run(action), "{step:#?}");
}

/// A call in Spanish to the text-message choice, by way of every kind of input.
#[test]
fn a_call_in_spanish_gets_a_text() {
    let flows = shipped();
    let voice = flows.voice();
    let s = voice.begin("call", Lang::En, OnRecord::NOTHING).unwrap();
    assert_eq!(s.cursor.state, "language");
    let ask: Vec<_> = match &s.next {
        Next::Wait { ask, .. } => ask.iter().map(|p| (p.key.as_str(), p.lang)).collect(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        ask,
        vec![("voice_language", Lang::En), ("voice_language", Lang::Es)]
    );

    let s = voice
        .arrive(&s.cursor, &keys("2"), OnRecord::NOTHING)
        .unwrap();
    assert_eq!(
        (s.cursor.state.as_str(), s.cursor.lang),
        ("main_menu", Lang::Es)
    );
    let s = voice
        .arrive(&s.cursor, &keys("1"), OnRecord::NOTHING)
        .unwrap();
    assert_eq!(asked(&s), vec!["voice_ask_number"]);
    assert!(matches!(
        s.next,
        Next::Wait {
            expect: Expect::Digits {
                min: 3,
                max: 15,
                finish: Some('#'),
                ..
            },
            timeout_seconds: 10,
            retry: 0,
            ..
        }
    ));

    let s = voice
        .arrive(&s.cursor, &keys("1900862#"), OnRecord::NOTHING)
        .unwrap();
    run(&s, Action::RememberNumber);
    assert_eq!(s.accepted.as_deref(), Some("1900862"));
    let s = voice
        .resume(&s.cursor, ActionOutcome::Ok, OnRecord::NOTHING)
        .unwrap();
    assert_eq!(asked(&s), vec!["voice_read_back"]);
    let s = voice
        .arrive(&s.cursor, &Arrived::Speech("Sí".into()), OnRecord::NOTHING)
        .unwrap();
    run(&s, Action::CallerId);
    let s = voice
        .resume(&s.cursor, ActionOutcome::AskPhone, OnRecord::NOTHING)
        .unwrap();
    assert_eq!(asked(&s), vec!["voice_ask_phone"]);
    let s = voice
        .arrive(&s.cursor, &keys("3036582075#"), OnRecord::NOTHING)
        .unwrap();
    run(&s, Action::VerifyPhone);
    assert_eq!(s.accepted.as_deref(), Some("3036582075"));

    // Only what is on record is offered: no email here.
    let on_record = OnRecord {
        mobile: true,
        email: false,
        phone: true,
    };
    let s = voice
        .resume(&s.cursor, ActionOutcome::Verified, on_record)
        .unwrap();
    assert_eq!(
        asked(&s),
        vec![
            "voice_choose_delivery",
            "voice_option_sms",
            "voice_option_callback",
            "voice_option_staff"
        ]
    );
    assert!(
        matches!(&s.next, Next::Wait { expect: Expect::Menu { keys, .. }, .. } if keys == &["1", "3", "0"])
    );
    let s = voice.arrive(&s.cursor, &keys("2"), on_record).unwrap();
    assert_eq!(said(&s), vec![("voice_not_understood", Lang::Es)]);
    assert!(matches!(s.next, Next::Wait { retry: 1, .. }));
    let s = voice.arrive(&s.cursor, &keys("1"), on_record).unwrap();
    run(&s, Action::SendSms);
    let s = voice
        .resume(&s.cursor, ActionOutcome::Sent, on_record)
        .unwrap();
    assert_eq!(s.next, Next::End);
    assert_eq!(said(&s), vec![("voice_sms_sent", Lang::Es)]);
}

/// From the phone question to the point where a refusal gives its answer.
fn at_phone_question(voice: &Flow, cursor: &Cursor) -> Step {
    let s = voice
        .arrive(cursor, &keys("1001#"), OnRecord::NOTHING)
        .unwrap();
    let s = voice
        .resume(&s.cursor, ActionOutcome::Ok, OnRecord::NOTHING)
        .unwrap();
    let s = voice
        .arrive(&s.cursor, &keys("1"), OnRecord::NOTHING)
        .unwrap();
    let s = voice
        .resume(&s.cursor, ActionOutcome::AskPhone, OnRecord::NOTHING)
        .unwrap();
    let s = voice
        .arrive(&s.cursor, &keys("3035550000#"), OnRecord::NOTHING)
        .unwrap();
    run(&s, Action::VerifyPhone);
    voice
        .resume(&s.cursor, ActionOutcome::Refused, OnRecord::NOTHING)
        .unwrap()
}

#[test]
fn the_third_mismatch_goes_to_staff_with_the_same_words() {
    let flows = shipped();
    let voice = flows.voice();
    let s = voice.begin("call", Lang::En, OnRecord::NOTHING).unwrap();
    let s = voice
        .arrive(&s.cursor, &keys("1"), OnRecord::NOTHING)
        .unwrap();
    let s = voice
        .arrive(&s.cursor, &keys("1"), OnRecord::NOTHING)
        .unwrap();
    let first = at_phone_question(voice, &s.cursor);
    assert_eq!(said(&first), vec![("voice_no_match", Lang::En)]);
    assert_eq!(first.cursor.state, "ask_number");
    let second = at_phone_question(voice, &first.cursor);
    assert_eq!(said(&second), said(&first));
    assert_eq!(second.next, first.next);
    let third = at_phone_question(voice, &second.cursor);
    assert_eq!(said(&third), vec![("voice_no_match", Lang::En)]);
    run(&third, Action::Escalate);
}

#[test]
fn silence_reprompts_then_escalates_and_the_language_defaults_to_english() {
    let flows = shipped();
    let voice = flows.voice();
    let s = voice.begin("call", Lang::En, OnRecord::NOTHING).unwrap();
    let s = voice
        .arrive(&s.cursor, &Arrived::Timeout, OnRecord::NOTHING)
        .unwrap();
    assert_eq!(
        (s.cursor.state.as_str(), s.cursor.lang),
        ("main_menu", Lang::En)
    );
    let s = voice
        .arrive(&s.cursor, &keys(""), OnRecord::NOTHING)
        .unwrap();
    assert_eq!(said(&s), vec![("voice_no_input", Lang::En)]);
    assert!(matches!(s.next, Next::Wait { retry: 1, .. }));
    let s = voice
        .arrive(&s.cursor, &Arrived::Timeout, OnRecord::NOTHING)
        .unwrap();
    assert!(matches!(s.next, Next::Wait { retry: 2, .. }));
    let s = voice
        .arrive(&s.cursor, &Arrived::Timeout, OnRecord::NOTHING)
        .unwrap();
    run(&s, Action::Escalate);
    assert_eq!(s.cursor.tries, 0);
}

#[test]
fn escalation_dials_or_takes_a_message_and_opens_a_ticket() {
    let flows = shipped();
    let voice = flows.voice();
    let s = voice.begin("call", Lang::En, OnRecord::NOTHING).unwrap();
    let s = voice
        .arrive(&s.cursor, &keys("1"), OnRecord::NOTHING)
        .unwrap();
    let s = voice
        .arrive(&s.cursor, &keys("2"), OnRecord::NOTHING)
        .unwrap();
    run(&s, Action::Escalate);
    let escalated = s.cursor.clone();

    let s = voice
        .resume(&escalated, ActionOutcome::Dial, OnRecord::NOTHING)
        .unwrap();
    run(&s, Action::Ticket);
    let s = voice
        .resume(&s.cursor, ActionOutcome::Ok, OnRecord::NOTHING)
        .unwrap();
    run(&s, Action::DialStaff);
    assert_eq!(said(&s), vec![("voice_transfer", Lang::En)]);
    // The outcome comes later, with the dial callback: the stored cursor is enough.
    let stored = serde_json::to_string(&s.cursor).unwrap();
    let cursor: Cursor = serde_json::from_str(&stored).unwrap();
    let s = voice
        .resume(&cursor, ActionOutcome::NoAnswer, OnRecord::NOTHING)
        .unwrap();
    assert_eq!(asked(&s), vec!["voice_leave_message"]);
    assert!(matches!(
        s.next,
        Next::Wait {
            expect: Expect::Record { max_seconds: 120 },
            ..
        }
    ));
    let s = voice
        .arrive(&s.cursor, &Arrived::Recording, OnRecord::NOTHING)
        .unwrap();
    run(&s, Action::Ticket);
    let s = voice
        .resume(&s.cursor, ActionOutcome::Ok, OnRecord::NOTHING)
        .unwrap();
    assert_eq!(
        (said(&s), &s.next),
        (vec![("voice_message_taken", Lang::En)], &Next::End)
    );

    let s = voice
        .resume(&escalated, ActionOutcome::Record, OnRecord::NOTHING)
        .unwrap();
    let s = voice
        .arrive(&s.cursor, &Arrived::Timeout, OnRecord::NOTHING)
        .unwrap();
    run(&s, Action::Ticket);
    assert_eq!(s.cursor.state, "ticket_without_message");
}

#[test]
fn the_callback_reads_the_secret_only_after_a_key_and_repeats_it() {
    let flows = shipped();
    let voice = flows.voice();
    let s = voice.begin("callback", Lang::Es, EVERYTHING).unwrap();
    assert_eq!(asked(&s), vec!["voice_callback_intro"]);
    // An answering machine says nothing: no secret, goodbye.
    let mut silent = s.clone();
    for _ in 0..3 {
        silent = voice
            .arrive(&silent.cursor, &Arrived::Timeout, EVERYTHING)
            .unwrap();
    }
    assert_eq!(
        (said(&silent), &silent.next),
        (vec![("voice_callback_goodbye", Lang::Es)], &Next::End)
    );

    let s = voice.arrive(&s.cursor, &keys("1"), EVERYTHING).unwrap();
    run(&s, Action::ReadSecret);
    let mut s = voice
        .resume(&s.cursor, ActionOutcome::Ok, EVERYTHING)
        .unwrap();
    for _ in 0..5 {
        assert_eq!(asked(&s), vec!["voice_callback_secret"]);
        s = voice.arrive(&s.cursor, &keys("1"), EVERYTHING).unwrap();
    }
    assert_eq!(s.next, Next::End, "five readings at most");
}

#[test]
fn texts_route_by_keyword_and_share_one_reply_for_sent_and_refused() {
    let flows = shipped();
    let sms = flows.sms();
    let start = sms.begin("text", Lang::En, OnRecord::NOTHING).unwrap();
    assert!(
        matches!(&start.next, Next::Wait { ask, expect: Expect::Keyword, .. } if ask.is_empty())
    );

    let s = sms
        .arrive(
            &start.cursor,
            &Arrived::Text("clave 1900862".into()),
            OnRecord::NOTHING,
        )
        .unwrap();
    run(&s, Action::SmsReset);
    assert_eq!(
        (s.accepted.as_deref(), s.cursor.lang),
        (Some("1900862"), Lang::Es)
    );
    let sent = sms
        .resume(&s.cursor, ActionOutcome::Sent, OnRecord::NOTHING)
        .unwrap();
    let refused = sms
        .resume(&s.cursor, ActionOutcome::Refused, OnRecord::NOTHING)
        .unwrap();
    assert_eq!(said(&sent), vec![("sms_reset_reply", Lang::Es)]);
    assert_eq!(said(&sent), said(&refused));
    assert_eq!(sent.next, Next::End);

    let s = sms
        .arrive(
            &start.cursor,
            &Arrived::Text("what?".into()),
            OnRecord::NOTHING,
        )
        .unwrap();
    assert_eq!(
        (said(&s), &s.next),
        (
            vec![
                ("sms_instructions", Lang::En),
                ("sms_instructions", Lang::Es)
            ],
            &Next::End
        )
    );
    for (text, action) in [
        ("STOP", Action::SmsStop),
        ("start", Action::SmsStart),
        ("Ayuda", Action::SmsHelp),
    ] {
        let s = sms
            .arrive(
                &start.cursor,
                &Arrived::Text(text.into()),
                OnRecord::NOTHING,
            )
            .unwrap();
        run(&s, action);
    }
}

#[test]
fn mistakes_of_the_adapter_are_errors_not_panics() {
    let flows = shipped();
    let voice = flows.voice();
    assert_eq!(
        voice.begin("fax", Lang::En, OnRecord::NOTHING),
        Err(DriverError::UnknownEntry("fax".into()))
    );
    let s = voice.begin("call", Lang::En, OnRecord::NOTHING).unwrap();
    let stale = Cursor {
        state: "gone".into(),
        ..s.cursor.clone()
    };
    assert_eq!(
        voice.arrive(&stale, &keys("1"), OnRecord::NOTHING),
        Err(DriverError::UnknownState("gone".into()))
    );
    assert_eq!(
        voice.resume(&s.cursor, ActionOutcome::Ok, OnRecord::NOTHING),
        Err(DriverError::NoAction("language".into()))
    );
    let s = voice
        .arrive(&s.cursor, &keys("1"), OnRecord::NOTHING)
        .unwrap();
    let s = voice
        .arrive(&s.cursor, &keys("2"), OnRecord::NOTHING)
        .unwrap();
    assert!(matches!(
        voice.resume(&s.cursor, ActionOutcome::Sent, OnRecord::NOTHING),
        Err(DriverError::UnexpectedOutcome { .. })
    ));
    assert_eq!(
        voice.arrive(&s.cursor, &keys("1"), OnRecord::NOTHING),
        Err(DriverError::NotWaiting("escalate".into()))
    );
}

fn arrival() -> impl Strategy<Value = Arrived> {
    prop_oneof![
        "[0-9#*]{0,20}".prop_map(Arrived::Digits),
        "[0-9]{150,250}".prop_map(Arrived::Digits),
        any::<String>().prop_map(Arrived::Digits),
        any::<String>().prop_map(Arrived::Speech),
        "(RESET|CLAVE|HELP|AYUDA|STOP|START|sí|yes|no|uno|dos)? ?.{0,12}".prop_map(Arrived::Text),
        any::<String>().prop_map(Arrived::Text),
        Just(Arrived::Timeout),
        Just(Arrived::Recording),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Anything at all, in any order, with any action outcome: every cursor names a state of the
    /// flow, every prompt has words, and nothing panics.
    #[test]
    fn the_driver_never_panics_nor_names_a_missing_state(
        kind in prop_oneof![Just(FlowKind::Voice), Just(FlowKind::Sms)],
        callback in any::<bool>(),
        on_record in (any::<bool>(), any::<bool>(), any::<bool>()),
        events in prop::collection::vec((arrival(), any::<usize>()), 1..40),
    ) {
        let flows = shipped();
        let flow = flows.flow(kind);
        let on_record = OnRecord { mobile: on_record.0, email: on_record.1, phone: on_record.2 };
        let entry = match kind {
            FlowKind::Voice if callback => "callback",
            FlowKind::Voice => "call",
            FlowKind::Sms => "text",
        };
        let check = |step: &Step| {
            prop_assert!(flow.states.contains_key(&step.cursor.state), "{}", step.cursor.state);
            let mut prompts: Vec<&Prompt> = step.say.iter().collect();
            if let Next::Wait { ask, .. } = &step.next {
                prompts.extend(ask);
            }
            for p in prompts {
                prop_assert!(flows.words().text(p.lang, &p.key).is_some(), "{}", p.key);
            }
            Ok(())
        };
        let mut step = flow.begin(entry, Lang::En, on_record).unwrap();
        for (arrived, pick) in events {
            check(&step)?;
            // Anything may also arrive at any state, waiting or not.
            let any_state = flow.states.keys().nth(pick % flow.states.len()).unwrap();
            let elsewhere = Cursor { state: any_state.clone(), ..step.cursor.clone() };
            if let Ok(s) = flow.arrive(&elsewhere, &arrived, on_record) {
                check(&s)?;
            }
            let outcome = ActionOutcome::ALL[pick % ActionOutcome::ALL.len()];
            let _ = flow.resume(&elsewhere, outcome, on_record);
            step = match &step.next {
                Next::Run(action) => {
                    let outcomes = action.outcomes();
                    flow.resume(&step.cursor, outcomes[pick % outcomes.len()], on_record).unwrap()
                }
                Next::Wait { .. } => flow.arrive(&step.cursor, &arrived, on_record).unwrap(),
                Next::End => flow.begin(entry, Lang::En, on_record).unwrap(),
            };
        }
        check(&step)?;
    }
}
