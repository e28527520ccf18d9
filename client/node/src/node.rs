//! A node: its identity, certificates, archive and the operations on them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use lianxi_certs::request::{NodeIdentity, build_request};
use lianxi_certs::{NodeAttributes, pem_or_der, verify_node_cert};
use lianxi_shared::envelope::{Opened, SealInput, seal};
use lianxi_shared::{
    Audience, ErrorCode, MessageId, NodeId, NodeInfo, Payload, ProtoError, Role, Tier,
};
use rustls_pki_types::CertificateDer;

use crate::archive::SealedForm;
use crate::archive::{ArchiveHandle, OutboxItem};
use crate::home::{Home, NodeConfig};
use crate::identity::Identity;
use crate::net::{Event, Session, TlsSetup};
use crate::{Result, now_ms, trust};

/// What `lianxi init` needs.
pub struct InitArgs {
    pub node_id: NodeId,
    pub name: String,
    pub org: String,
    pub tier: Tier,
    pub roles: Vec<Role>,
}

pub struct Node {
    pub home: Home,
    pub config: NodeConfig,
    identity: Arc<Identity>,
    pub cert_der: Vec<u8>,
    pub ca_der: Vec<u8>,
    pub me: NodeInfo,
    pub archive: ArchiveHandle,
    /// Which of the configured hubs answered last: tried first next time.
    preferred: std::sync::atomic::AtomicUsize,
}

/// Create keys and an enrollment request. Returns the request PEM.
pub fn init(home: &Home, args: InitArgs) -> Result<(String, NodeConfig)> {
    if home.config_path().exists() || home.signing_key_path().exists() {
        return Err(ProtoError::new(
            ErrorCode::AlreadyInitialized,
            format!(
                "{} already holds a node; use another --home",
                home.dir.display()
            ),
        ));
    }
    if args.roles.is_empty() {
        return Err(ProtoError::new(
            ErrorCode::BadRequest,
            "give at least one role",
        ));
    }
    // The home holds private keys and, soon, the archive in the clear: 0700,
    // also when the person made the directory beforehand.
    lianxi_certs::files::create_private_dir(&home.dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&home.dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| crate::io_err(home.dir.display(), e))?;
    }
    let identity = Identity::generate(home)?;
    let cfg = NodeConfig {
        node_id: args.node_id,
        name: args.name,
        org: args.org,
        tier: args.tier,
        roles: args.roles,
        hub: Default::default(),
        server_name: None,
        lang: None,
        time_zone: None,
        max_attachment: None,
        case_prefix: None,
    };
    let request = build_request(
        &identity.signing,
        &NodeIdentity {
            node_id: cfg.node_id.clone(),
            name: cfg.name.clone(),
            org: cfg.org.clone(),
            attrs: NodeAttributes {
                tier: cfg.tier,
                roles: cfg.roles.clone(),
                age_recipient: identity.age.to_public().to_string(),
            },
        },
    )?;
    lianxi_certs::files::write_atomic(&home.request_path(), request.as_bytes(), false)?;
    home.save_config(&cfg)?;
    Ok((request, cfg))
}

/// Install the signed certificate and the CA, and record the hub's address.
/// The certificate must be signed by the CA and bind this node's own keys.
pub fn enroll(
    home: &Home,
    cert: &[u8],
    ca: &[u8],
    hubs: &[String],
    server_name: Option<String>,
) -> Result<NodeInfo> {
    if hubs.is_empty() {
        return Err(ProtoError::new(
            ErrorCode::BadRequest,
            "give the hub's address with --hub (repeat it for several hubs)",
        ));
    }
    let mut cfg = home.load_config()?;
    let identity = Identity::load(home)?;
    let cert_der = pem_or_der(cert, "CERTIFICATE")?;
    let ca_der = pem_or_der(ca, "CERTIFICATE")?;
    let info = verify_node_cert(&cert_der, &ca_der, None, now_ms() / 1000)?;
    if info.signing_key != identity.signing.verifying_key().to_bytes()
        || info.age_recipient != identity.age.to_public().to_string()
    {
        return Err(ProtoError::new(
            ErrorCode::BadCertificate,
            "this certificate was issued for other keys than this node's",
        ));
    }
    if info.node_id != cfg.node_id {
        return Err(ProtoError::new(
            ErrorCode::BadCertificate,
            format!(
                "the certificate is for {}, not {}",
                info.node_id, cfg.node_id
            ),
        ));
    }
    lianxi_certs::files::write_atomic(
        &home.cert_path(),
        lianxi_certs::to_pem("CERTIFICATE", &cert_der).as_bytes(),
        false,
    )?;
    lianxi_certs::files::write_atomic(
        &home.ca_path(),
        lianxi_certs::to_pem("CERTIFICATE", &ca_der).as_bytes(),
        false,
    )?;
    // The CA may have narrowed the roles; the certificate is the truth.
    cfg.roles = info.roles.clone();
    cfg.hub = crate::home::HubList(hubs.to_vec());
    cfg.server_name = server_name;
    home.save_config(&cfg)?;
    Ok(info)
}

/// Errors after which a message stays in the outbox and is retried.
pub fn is_transient(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::HubUnreachable
            | ErrorCode::Unavailable
            | ErrorCode::SessionMoved
            | ErrorCode::StorageFull
            | ErrorCode::RateLimited
            | ErrorCode::QuotaExceeded
            | ErrorCode::Internal
    )
}

/// The result of flushing the outbox.
#[derive(Debug, Default)]
pub struct FlushReport {
    pub sent: Vec<(MessageId, u32)>,
    pub failed: Vec<(MessageId, ProtoError)>,
}

impl Node {
    pub fn open(home: Home) -> Result<Node> {
        let config = home.load_config()?;
        let zone = config
            .time_zone
            .clone()
            .unwrap_or_else(crate::time_fmt::default_zone_name);
        crate::time_fmt::set_zone(&zone)?;
        let read = |p: std::path::PathBuf| {
            std::fs::read(&p).map_err(|_| {
                ProtoError::new(
                    ErrorCode::NotEnrolled,
                    format!("{} is missing: run `lianxi enroll`", p.display()),
                )
            })
        };
        let cert_der = pem_or_der(&read(home.cert_path())?, "CERTIFICATE")?;
        let ca_der = pem_or_der(&read(home.ca_path())?, "CERTIFICATE")?;
        let me = lianxi_certs::parse_node_cert(&cert_der)?;
        let identity = Arc::new(Identity::load(&home)?);
        let archive = ArchiveHandle::open(&home.archive_path())?;
        Ok(Node {
            home,
            config,
            identity,
            cert_der,
            ca_der,
            me,
            archive,
            preferred: Default::default(),
        })
    }

    pub fn age_recipient(&self) -> String {
        self.identity.age.to_public().to_string()
    }

    /// The hub this node uses now (the one that answered last).
    pub fn hub_addr(&self) -> Result<String> {
        let hubs = &self.config.hub.0;
        let i = self.preferred.load(std::sync::atomic::Ordering::Relaxed);
        hubs.get(i).or(hubs.first()).cloned().ok_or_else(|| {
            ProtoError::new(
                ErrorCode::NotEnrolled,
                "no hub address: run `lianxi enroll --hub`",
            )
        })
    }

    /// After a session closed with `session_moved: ADDRESS` (another hub of
    /// the cluster took the node's session over), connect to that hub first
    /// next time, so two sessions of this node do not push each other off
    /// two hubs in turn. An address not among the node's hubs changes nothing.
    pub fn follow_moved_session(&self, e: &ProtoError) {
        if e.code != ErrorCode::SessionMoved {
            return;
        }
        let to = e.message.rsplit(' ').next().unwrap_or_default();
        if let Some(i) = self.config.hub.0.iter().position(|h| h == to) {
            self.preferred
                .store(i, std::sync::atomic::Ordering::Relaxed);
        }
    }

    fn tls(&self) -> Result<TlsSetup> {
        Ok(TlsSetup {
            ca: CertificateDer::from(self.ca_der.clone()),
            cert: CertificateDer::from(self.cert_der.clone()),
            key: self.identity.tls_key()?,
            crl: None,
        })
    }

    /// The newest CRL this node has seen (from any hub), verified against its CA.
    pub async fn known_crl(
        &self,
    ) -> Result<Option<rustls_pki_types::CertificateRevocationListDer<'static>>> {
        let known = self.archive.call(|a| a.get_meta("crl")).await?;
        Ok(known
            .and_then(|b| trust::newer_crl(&self.ca_der, Some(&b), None))
            .and_then(|(b, _)| pem_or_der(&b, "X509 CRL").ok())
            .map(rustls_pki_types::CertificateRevocationListDer::from))
    }

    /// When the newest CRL this node has seen says the next one is due (s).
    pub async fn crl_next_update(&self) -> Result<Option<i64>> {
        let known = self.archive.call(|a| a.get_meta("crl")).await?;
        Ok(known
            .and_then(|b| trust::newer_crl(&self.ca_der, Some(&b), None))
            .and_then(|(_, c)| c.next_update))
    }

    pub async fn connect(
        &self,
        timeout: Duration,
    ) -> Result<(Session, tokio::sync::mpsc::Receiver<Event>)> {
        use std::sync::atomic::Ordering::Relaxed;
        let hubs = &self.config.hub.0;
        if hubs.is_empty() {
            self.hub_addr()?;
        }
        let mut tls = self.tls()?;
        tls.crl = self.known_crl().await?;
        // The hub that answered last first, then the others in order; a
        // name with several addresses is each of them in turn. Each try
        // gets a share of the time, so a dead hub cannot use it all.
        let start = self
            .preferred
            .load(Relaxed)
            .min(hubs.len().saturating_sub(1));
        let order: Vec<usize> = (0..hubs.len()).map(|k| (start + k) % hubs.len()).collect();
        let share = if hubs.len() > 1 {
            (timeout / hubs.len() as u32).max(Duration::from_secs(2))
        } else {
            timeout
        };
        let mut last = None;
        for i in order {
            let addr = &hubs[i];
            let server_name = match &self.config.server_name {
                Some(s) => s.clone(),
                None => addr
                    .rsplit_once(':')
                    .map(|(h, _)| h.trim_matches(['[', ']']).to_owned())
                    .unwrap_or(addr.clone()),
            };
            let targets: Vec<String> = match tokio::net::lookup_host(addr.as_str()).await {
                Ok(it) => it.map(|sa| sa.to_string()).collect(),
                Err(_) => vec![addr.clone()],
            };
            for t in targets {
                match Session::connect(&t, &server_name, &tls, share).await {
                    Ok(ok) => {
                        self.preferred.store(i, Relaxed);
                        return Ok(ok);
                    }
                    Err(e) => {
                        tracing::info!(hub = %t, code = %e.code, "hub not reachable; trying the next");
                        last = Some(e);
                    }
                }
            }
        }
        Err(last.unwrap_or_else(|| ProtoError::code(ErrorCode::HubUnreachable)))
    }

    /// Fetch the directory from the hub, verify every certificate ourselves and
    /// cache the result. Returns the number of verified nodes.
    pub async fn refresh_directory(&self, s: &Session) -> Result<usize> {
        let (certs, crl) = s.directory().await?;
        let ca = self.ca_der.clone();
        let known = self.archive.call(|a| a.get_meta("crl")).await?;
        let verified = tokio::task::spawn_blocking(move || {
            let crl = trust::newer_crl(&ca, known.as_deref(), crl.as_deref());
            let v =
                trust::verify_directory(&certs, &ca, crl.as_ref().map(|c| &c.1), now_ms() / 1000);
            (v, crl.map(|c| c.0))
        })
        .await
        .map_err(|_| ProtoError::code(ErrorCode::Internal))?;
        let (v, crl_der) = verified;
        for e in &v.rejected {
            tracing::warn!(code = %e.code, reason = %e.message, "directory entry refused");
        }
        let n = v.nodes.len();
        self.archive
            .call(move |a| {
                if let Some(c) = crl_der {
                    a.set_meta("crl", &c)?;
                }
                a.save_directory(&v.nodes)
            })
            .await?;
        Ok(n)
    }

    pub async fn directory(&self) -> Result<Vec<NodeInfo>> {
        self.archive.call(|a| a.directory()).await
    }

    /// Write a bulletin to the outbox (durably). It is sealed and sent by the
    /// next [`Node::flush_outbox`].
    pub async fn queue(
        &self,
        audience: Audience,
        payload: Payload,
        not_before: Option<i64>,
    ) -> Result<MessageId> {
        payload.validate()?;
        let now = now_ms();
        let id = MessageId::generate(now);
        self.archive
            .call(move |a| a.queue(id, now, &audience, &payload, not_before))
            .await?;
        Ok(id)
    }

    /// Sign and encrypt a payload off the reactor.
    pub(crate) async fn seal_payload(
        &self,
        audience: Audience,
        recipients: Vec<(NodeId, age::x25519::Recipient)>,
        id: MessageId,
        created_at: i64,
        not_before: Option<i64>,
        payload: Payload,
    ) -> Result<lianxi_shared::envelope::Sealed> {
        let identity = self.identity.clone();
        let me = self.me.node_id.clone();
        tokio::task::spawn_blocking(move || {
            seal(
                SealInput {
                    sender: &me,
                    signing_key: &identity.signing,
                    audience,
                    recipients: &recipients,
                    id,
                    created_at,
                    not_before,
                },
                &payload,
            )
        })
        .await
        .map_err(|_| ProtoError::code(ErrorCode::Internal))?
    }

    /// Seal an outbox item against the cached directory and persist the sealed form.
    pub(crate) async fn seal_item(&self, item: &OutboxItem) -> Result<SealedForm> {
        if let Some(s) = &item.sealed {
            return Ok(s.clone());
        }
        let payload = item.payload.clone().ok_or_else(|| {
            ProtoError::new(ErrorCode::ArchiveCorrupt, "outbox payload unreadable")
        })?;
        let audience: Audience = item.audience.parse()?;
        let directory = self.directory().await?;
        let me = self.me.node_id.clone();
        let recipients_ids = audience.expand(&me, &directory)?;
        let by_id: HashMap<&NodeId, &NodeInfo> =
            directory.iter().map(|n| (&n.node_id, n)).collect();
        let mut recipients = Vec::with_capacity(recipients_ids.len());
        for id in &recipients_ids {
            let info = by_id.get(id).ok_or_else(|| {
                ProtoError::new(
                    ErrorCode::UnknownRecipient,
                    format!("unknown recipient {id}"),
                )
            })?;
            let r: age::x25519::Recipient = info.age_recipient.parse().map_err(|_| {
                ProtoError::new(
                    ErrorCode::BadCertificate,
                    format!("{id} has an invalid age recipient"),
                )
            })?;
            recipients.push((id.clone(), r));
        }
        let (id, created_at, not_before) = (item.id, item.created_at, item.not_before);
        let sealed = self
            .seal_payload(
                audience,
                recipients,
                id,
                created_at,
                not_before,
                payload.clone(),
            )
            .await?;
        let form = SealedForm {
            key: matches!(item.payload, Some(Payload::Case(_))).then(|| sealed.key.to_string()),
            envelope: sealed.envelope,
            wraps: sealed.wraps,
        };
        let f2 = form.clone();
        self.archive.call(move |a| a.set_sealed(&id, &f2)).await?;
        Ok(form)
    }

    /// Send everything in the outbox. Each item is marked sent only after the hub
    /// has acknowledged it as durably stored.
    pub async fn flush_outbox(&self, s: &Session) -> Result<FlushReport> {
        let items = self.archive.call(|a| a.pending()).await?;
        let mut report = FlushReport::default();
        let mut tasks = tokio::task::JoinSet::new();
        for item in items {
            let form = match self.seal_item(&item).await {
                Ok(f) => f,
                Err(e) => {
                    let permanent = !is_transient(e.code) && e.code != ErrorCode::EmptyAudience;
                    let (id, e2) = (item.id, e.clone());
                    self.archive
                        .call(move |a| a.mark_attempt(&id, &e2, permanent))
                        .await?;
                    report.failed.push((item.id, e));
                    continue;
                }
            };
            let s = s.clone();
            tasks.spawn(async move {
                let r = s
                    .send_envelope(form.envelope.clone(), form.wraps.clone())
                    .await;
                (item, form, r)
            });
        }
        while let Some(done) = tasks.join_next().await {
            let Ok((item, form, r)) = done else {
                continue;
            };
            let envelope = form.envelope;
            let to: Vec<NodeId> = form.wraps.into_iter().map(|w| w.to).collect();
            match r {
                Ok(acc) => {
                    let header = envelope.decode_header()?;
                    let payload = item
                        .payload
                        .clone()
                        .ok_or_else(|| ProtoError::code(ErrorCode::ArchiveCorrupt))?;
                    let opened = Opened {
                        header,
                        payload_bytes: payload.encode(),
                        payload,
                    };
                    let id = item.id;
                    let key = form.key;
                    self.archive
                        .call(move |a| {
                            a.mark_sent(&id, &opened, &envelope, key.as_deref(), &to, now_ms())
                        })
                        .await?;
                    if !acc.missing.is_empty() {
                        tracing::warn!(%id, missing = acc.missing.len(), "addressed nodes had no key wrap (directory was stale)");
                    }
                    report.sent.push((id, acc.recipients));
                }
                Err(e) => {
                    let id = item.id;
                    let permanent = !is_transient(e.code);
                    let e2 = e.clone();
                    self.archive
                        .call(move |a| a.mark_attempt(&id, &e2, permanent))
                        .await?;
                    report.failed.push((id, e));
                }
            }
        }
        Ok(report)
    }

    pub(crate) fn identity(&self) -> Arc<Identity> {
        self.identity.clone()
    }
}

pub(crate) fn open_with(
    identity: &Identity,
    me: &NodeInfo,
    directory: &HashMap<NodeId, NodeInfo>,
    envelope: &lianxi_shared::Envelope,
    wrap: &[u8],
) -> Result<Opened> {
    let header = envelope.decode_header()?;
    let sender = directory.get(&header.sender).ok_or_else(|| {
        ProtoError::new(
            ErrorCode::UnknownSender,
            format!("{} is not in the verified directory", header.sender),
        )
    })?;
    crate::identity::first_that_opens(identity, |id| {
        lianxi_shared::envelope::open(envelope, wrap, sender, me, id)
    })
}
