//! The `helpline` command line of the public contract. Each command exits 0 on success and
//! otherwise prints a one-line reason per problem on standard error and exits non-zero
//! (2 for configuration problems, 1 for everything else).

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use secrecy::SecretString;

use crate::app::{self, Application, Overrides, StartError};
use crate::audit;
use crate::clock::{SharedClock, SystemClock};
use crate::config::{ConfigErrors, Settings, Sources, process_env};
use crate::domain::channel::Channel;
use crate::flows::{FlowProblems, Flows, graph};
use crate::hashing::Hasher;
use crate::roster;
use crate::store::Store;

pub mod simulate;
mod staff_logins;
mod staff_tokens;

pub use staff_logins::add_staff;

#[derive(Debug, Parser)]
#[command(
    name = "helpline",
    version,
    about = "Account-help line for a city's contractor portal"
)]
pub struct Cli {
    /// Settings file (default: ./helpline.toml when present; also HELPLINE_CONFIG).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the webhook server and the outbox worker (migrates first).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Load or update the contractor roster from a CSV file.
    ImportContractors {
        /// CSV with the columns contractor_number,license_number,business_name,contact_name,phone,alt_phone,email
        file: PathBuf,
    },
    /// Manage staff logins.
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// Check the audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Sample roster and staff login on a throwaway database, then serve.
    Demo,
    /// Check or draw the phone line's flows (flows/voice.toml, flows/sms.toml).
    Flows {
        #[command(subcommand)]
        command: FlowsCommand,
    },
    /// Try the phone line against a running server, without Twilio.
    Simulate {
        #[command(subcommand)]
        command: simulate::SimulateCommand,
    },
    /// Take one email to the help line on standard input (for a Postfix or Exim pipe). Exit
    /// status per sysexits: 0 taken, 65 not an email or too large (bounce), 75 try later.
    IngestEmail,
}

#[derive(Debug, Subcommand)]
pub enum FlowsCommand {
    /// Check the flows and their words; one line per problem, naming file and state.
    Check {
        /// Flows directory (default: flows.dir, HELPLINE_FLOWS_DIR, else ./flows).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Print the flows as a diagram.
    Graph {
        #[arg(long, value_enum, default_value_t = GraphFormat::Mermaid)]
        format: GraphFormat,
        /// Flows directory (default: flows.dir, HELPLINE_FLOWS_DIR, else ./flows).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Only this flow (default: both).
        #[arg(value_enum)]
        flow: Option<FlowName>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GraphFormat {
    Mermaid,
    Dot,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FlowName {
    Voice,
    Sms,
}

#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// Add a staff login.
    Add {
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_enum, default_value_t = Role::Staff)]
        role: Role,
        /// Read the password from standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable a staff login and end its sessions (it can no longer sign in).
    Disable { email: String },
    /// Email the queue digest (open, urgent, oldest, overdue, opened and resolved yesterday)
    /// to every enabled staff member now. The server sends it daily by itself at
    /// staff.digest_at (HELPLINE_STAFF_DIGEST_AT, city time); this one is extra and does not
    /// stop that. The server's outbox worker delivers it.
    Digest,
    /// Make a bearer token of the JSON API for a staff login (printed once), or revoke one.
    Token {
        /// The staff login's email.
        #[arg(required_unless_present = "revoke")]
        email: Option<String>,
        /// What the token is for (shown in `staff tokens`).
        #[arg(long, default_value = "", conflicts_with = "revoke")]
        label: String,
        /// Revoke the token with this id instead (see `staff tokens`).
        #[arg(long, value_name = "ID", conflicts_with = "email")]
        revoke: Option<i64>,
    },
    /// List the JSON API's tokens (never the tokens themselves).
    Tokens,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain; fails naming the first altered event.
    Verify,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Role {
    Staff,
    Admin,
}

impl Role {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Role::Staff => "staff",
            Role::Admin => "admin",
        }
    }
}

/// A command's failure: configuration or flows (exit 2) or anything else (exit 1).
#[derive(Debug)]
pub enum Failure {
    Config(ConfigErrors),
    Flows(FlowProblems),
    Other(String),
    /// A chosen exit status (sysexits, for a mail server's pipe) and its reason.
    Exit(u8, String),
}

impl From<StartError> for Failure {
    fn from(e: StartError) -> Self {
        match e {
            StartError::Config(c) => Failure::Config(c),
            StartError::Flows(f) => Failure::Flows(f),
            other => Failure::Other(other.to_string()),
        }
    }
}

impl From<FlowProblems> for Failure {
    fn from(e: FlowProblems) -> Self {
        Failure::Flows(e)
    }
}

impl From<ConfigErrors> for Failure {
    fn from(e: ConfigErrors) -> Self {
        Failure::Config(e)
    }
}

pub(crate) fn other(e: impl std::fmt::Display) -> Failure {
    Failure::Other(e.to_string())
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("helpline: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Config(errors)) => {
            for p in &errors.0 {
                eprintln!("helpline: configuration problem: {p}");
            }
            ExitCode::from(2)
        }
        Err(Failure::Flows(problems)) => {
            for p in &problems.0 {
                eprintln!("helpline: flow problem: {p}");
            }
            ExitCode::from(2)
        }
        Err(Failure::Other(reason)) => {
            eprintln!("helpline: {}", reason.lines().next().unwrap_or("failed"));
            ExitCode::from(1)
        }
        Err(Failure::Exit(code, reason)) => {
            eprintln!("helpline: {}", reason.lines().next().unwrap_or("failed"));
            ExitCode::from(code)
        }
    }
}

/// Logs go to standard error: human-readable, or JSON lines with HELPLINE_LOG_FORMAT=json.
/// The level comes from RUST_LOG (default `info`).
fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = if process_env("HELPLINE_LOG_FORMAT").as_deref() == Some("json") {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

fn load_settings(cli_path: Option<PathBuf>) -> Result<Settings, ConfigErrors> {
    Settings::load(&Sources {
        file: cli_path,
        env: &process_env,
    })
}

async fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Demo => return demo().await,
        Command::Serve => {
            let settings = load_settings(cli.config)?;
            settings.require_mail_route()?;
            return serve(settings, Overrides::default()).await;
        }
        Command::Flows { command } => {
            let settings = load_settings(cli.config)?;
            return flows_command(&settings, command);
        }
        Command::Simulate { command } => {
            return simulate::run(command, load_settings(cli.config)?).await;
        }
        Command::IngestEmail => return ingest_email(cli.config).await,
        _ => {}
    }
    let settings = load_settings(cli.config)?;
    let store = app::open_store(&settings).await?;
    store
        .migrate()
        .await
        .map_err(|e| Failure::from(StartError::Migrate(e)))?;
    let clock: SharedClock = Arc::new(SystemClock);
    match cli.command {
        Command::Migrate => {
            println!("database is up to date");
            Ok(())
        }
        Command::ImportContractors { file } => import(&store, &clock, &file).await,
        Command::Staff {
            command:
                StaffCommand::Add {
                    email,
                    name,
                    role,
                    password_stdin,
                },
        } => {
            let password = read_password(password_stdin)?;
            add_staff(&store, &clock, &email, &name, role, password).await?;
            println!("staff login {email} added ({})", role.as_str());
            Ok(())
        }
        Command::Staff {
            command: StaffCommand::Disable { email },
        } => staff_logins::disable(&store, &clock, &email).await,
        Command::Staff {
            command: StaffCommand::Digest,
        } => staff_logins::digest(&settings, &store, &clock).await,
        Command::Staff {
            command: StaffCommand::Token {
                revoke: Some(id), ..
            },
        } => staff_tokens::revoke(&store, &clock, id).await,
        Command::Staff {
            command: StaffCommand::Token { email, label, .. },
        } => staff_tokens::issue(&store, &clock, email.as_deref().unwrap_or(""), &label).await,
        Command::Staff {
            command: StaffCommand::Tokens,
        } => staff_tokens::list(&store).await,
        Command::Audit {
            command: AuditCommand::Verify,
        } => {
            let n = audit::verify(store.pool()).await.map_err(other)?;
            println!("audit log intact: {n} events");
            Ok(())
        }
        Command::Serve
        | Command::Demo
        | Command::Flows { .. }
        | Command::Simulate { .. }
        | Command::IngestEmail => Ok(()),
    }
}

/// sysexits: the input was not usable (the mail server bounces the message).
const EX_DATAERR: u8 = 65;
/// sysexits: try again later (the mail server keeps the message and retries).
const EX_TEMPFAIL: u8 = 75;

/// `ingest-email`: one message on standard input, taken as `POST /email/inbound` takes it.
/// Anything but a bad message is a temporary failure, so a mail server never bounces a
/// contractor's email for a configuration or database problem.
async fn ingest_email(config: Option<PathBuf>) -> Result<(), Failure> {
    use crate::channels::email_in::{MAX_EMAIL_BYTES, Refusal, take};
    let later = |why: String| Failure::Exit(EX_TEMPFAIL, why);
    let mut raw = Vec::new();
    std::io::stdin()
        .take(u64::try_from(MAX_EMAIL_BYTES).unwrap_or(u64::MAX) + 1)
        .read_to_end(&mut raw)
        .map_err(|e| later(format!("cannot read standard input: {e}")))?;
    let settings = load_settings(config).map_err(|e| later(e.to_string()))?;
    let store = app::open_store(&settings)
        .await
        .map_err(|e| later(e.to_string()))?;
    store
        .migrate()
        .await
        .map_err(|e| later(StartError::Migrate(e).to_string()))?;
    let recovery = app::recovery_service(settings, store)
        .await
        .map_err(|e| later(e.to_string()))?;
    match take(&recovery, &raw).await {
        Ok(done) => {
            println!("{done}");
            Ok(())
        }
        Err(Refusal::TooLarge) => Err(Failure::Exit(
            EX_DATAERR,
            "the message is larger than 10 MB".into(),
        )),
        Err(Refusal::Unreadable(why)) => Err(Failure::Exit(EX_DATAERR, why)),
        Err(Refusal::Failed) => Err(later("the message could not be handled now".into())),
    }
}

/// `flows check` and `flows graph`: read (and check) the flows the server would run.
fn flows_command(settings: &Settings, command: FlowsCommand) -> Result<(), Failure> {
    let (dir, format, only) = match command {
        FlowsCommand::Check { dir } => (dir, None, None),
        FlowsCommand::Graph { format, dir, flow } => (dir, Some(format), flow),
    };
    let flows = match dir {
        Some(dir) => Flows::load(&dir, true)?,
        None => Flows::load(&settings.flows_dir.path, settings.flows_dir.named)?,
    };
    let Some(format) = format else {
        println!("flows are good: {}", flows.summary());
        return Ok(());
    };
    let chosen: Vec<&crate::flows::Flow> = match only {
        None => vec![flows.voice(), flows.sms()],
        Some(FlowName::Voice) => vec![flows.voice()],
        Some(FlowName::Sms) => vec![flows.sms()],
    };
    let format = match format {
        GraphFormat::Mermaid => graph::Format::Mermaid,
        GraphFormat::Dot => graph::Format::Dot,
    };
    print!("{}", graph::draw(&chosen, format));
    Ok(())
}

async fn serve(settings: Settings, overrides: Overrides) -> Result<(), Failure> {
    let started = std::time::Instant::now();
    let app = Application::build(settings, overrides).await?;
    let addr = app.local_addr().map_err(other)?;
    tracing::info!(%addr, ready_ms = started.elapsed().as_millis() as u64, "helpline listening");
    app.run_until(app::shutdown_signal()).await.map_err(other)
}

async fn import(store: &Store, clock: &SharedClock, file: &PathBuf) -> Result<(), Failure> {
    let handle = std::fs::File::open(file)
        .map_err(|e| other(format!("cannot open {}: {e}", file.display())))?;
    let size = handle.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(size);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{msg:8} [{bar:40}] {percent}% {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_message("reading");
        bar
    });
    let started = std::time::Instant::now();
    let report = roster::import(store, clock, std::io::BufReader::new(handle), bar.as_ref())
        .await
        .map_err(|e| other(format!("{}: {e}", file.display())))?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    for r in &report.rejected {
        eprintln!("{}:{}: {}", file.display(), r.line, r.reason);
    }
    println!("{report} ({:.1} s)", started.elapsed().as_secs_f64());
    Ok(())
}

fn read_password(from_stdin: bool) -> Result<SecretString, Failure> {
    let text = if from_stdin {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(other)?;
        s.trim_end_matches(['\r', '\n']).to_string()
    } else {
        let first = rpassword::prompt_password("Password: ").map_err(other)?;
        let again = rpassword::prompt_password("Password again: ").map_err(other)?;
        if first != again {
            return Err(other("the two passwords differ"));
        }
        first
    };
    Ok(SecretString::from(text))
}

/// `helpline demo`: a throwaway SQLite database with the sample roster and a staff login, mail
/// written to a folder, then serve.
async fn demo() -> Result<(), Failure> {
    let dir = tempfile::Builder::new()
        .prefix("helpline-demo-")
        .tempdir()
        .map_err(other)?;
    let db = dir.path().join("helpline.db");
    let mut settings = Settings::for_local(&format!("sqlite://{}", db.display()));
    let bind = process_env("HELPLINE_BIND").unwrap_or_else(|| "127.0.0.1:8080".into());
    settings.bind = bind
        .parse()
        .map_err(|_| other(format!("HELPLINE_BIND '{bind}' is not an address and port")))?;
    settings.public_url = url::Url::parse(&format!("http://{}/", settings.bind)).map_err(other)?;
    settings.city.name = "Demo City".into();
    // So the kiosk pages show whom to call and when.
    settings.staff_phone = Some("+13035550199".into());
    settings.staff_office_hours = Some("Monday–Friday 8 am–5 pm".into());
    let mail_dir = dir.path().join("mail");
    settings.mail.dir = Some(mail_dir.clone());
    // So the phone line answers `helpline simulate call`, which signs with this token.
    let phone_token = process_env("HELPLINE_TWILIO_AUTH_TOKEN")
        .unwrap_or_else(|| crate::domain::secret::random_token(16));
    settings.twilio.auth_token = Some(SecretString::from(phone_token.clone()));
    let public_url = settings.public_url.clone();

    let store = app::open_store(&settings).await?;
    store
        .migrate()
        .await
        .map_err(|e| Failure::from(StartError::Migrate(e)))?;
    let clock: SharedClock = Arc::new(SystemClock);
    let report = roster::import(&store, &clock, DEMO_ROSTER.as_bytes(), None)
        .await
        .map_err(other)?;
    let staff_password = demo_password();
    add_staff(
        &store,
        &clock,
        "staff@demo.example",
        "Demo Staff",
        Role::Admin,
        SecretString::from(staff_password.clone()),
    )
    .await?;
    let temporary = demo_temporary_password(&store, &clock, "C-1001").await?;
    store.close().await;

    let app = Application::build(settings, Overrides::default()).await?;
    let base = format!("http://{}", app.local_addr().map_err(other)?);
    println!("Helpline demo ({report} from the sample roster)");
    println!("  database:    {}", db.display());
    println!(
        "  mail folder: {} (each message as an .eml file)",
        mail_dir.display()
    );
    println!("  sign in:     {base}/login as C-1001 with the temporary password {temporary}");
    println!("               (you will be asked to choose your own password)");
    println!(
        "  kiosk:       {base}/help  (C-1002, phone 303-555-0142: a reset link lands in the mail folder)"
    );
    println!("  forgot:      {base}/forgot    register: {base}/register");
    println!(
        "  staff:       {base}/staff  as staff@demo.example / {staff_password} (an admin: queue, tickets, dashboard, admin)"
    );
    println!(
        "  phone line:  helpline simulate call --from 303-658-2075 --url {public_url} --auth-token {phone_token}{}",
        if public_url.as_str() == format!("{base}/") {
            String::new()
        } else {
            format!(" --send-to {base}")
        }
    );
    println!(
        "  texts:       helpline simulate text --from 303-658-2075 --url {public_url} --auth-token {phone_token}{} \"HELP\"",
        if public_url.as_str() == format!("{base}/") {
            String::new()
        } else {
            format!(" --send-to {base}")
        }
    );
    println!("  health:      {base}/healthz");
    println!("  readiness:   {base}/readyz");
    println!("  metrics:     {base}/metrics");
    println!("Press Ctrl-C to stop; the demo database is deleted on exit.");
    let served = app.run_until(app::shutdown_signal()).await.map_err(other);
    drop(dir);
    served
}

/// Gives a sample contractor a temporary password (a day long) so the demo can show the
/// forced change; issued and audited like any other (`helpline audit verify` counts it).
async fn demo_temporary_password(
    store: &Store,
    clock: &SharedClock,
    number: &str,
) -> Result<String, Failure> {
    use secrecy::ExposeSecret;
    let contractor = crate::store::contractors::by_number(store.pool(), number)
        .await
        .map_err(other)?
        .ok_or_else(|| other("the sample roster lacks its first contractor"))?;
    let temp = crate::recovery::issue_temporary_password(
        store,
        &Hasher::new(1, 0),
        &contractor,
        std::time::Duration::from_secs(24 * 3600),
        Channel::Cli,
        clock.now_ms(),
    )
    .await
    .map_err(other)?;
    Ok(temp.expose_secret().to_string())
}

const DEMO_ROSTER: &str = include_str!("../demo/roster.csv");

/// A random password that meets the portal rules, for the demo staff login.
fn demo_password() -> String {
    format!("Demo-{}", &crate::domain::secret::random_token(16)[..10]) + "7x"
}
