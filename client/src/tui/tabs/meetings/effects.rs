//! The meetings tab's effects: loading the conference and the host's and
//! participants' answers.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::Result;
use crate::node::Node;
use crate::sync::NetCmd;
use crate::tui::update::{Action, Effect};

/// Do one of this tab's effects; the result comes back through `send`.
pub(crate) async fn run(
    node: &Arc<Node>,
    net: &mpsc::Sender<NetCmd>,
    send: &(dyn Fn(Action) + Send + Sync),
    effect: Effect,
) -> Result<()> {
    match effect {
        Effect::LoadConference => {
            let (conf, _) = node.conference().await?;
            send(Action::ConferenceLoaded(Box::new(conf)));
        }
        Effect::PublishAgenda { session, slots } => {
            let r = node.publish_agenda(session, slots).await;
            let _ = net.send(NetCmd::Flush).await;
            send(Action::AgendaDone(crate::tui::tabs::meetings::outcome(r)));
        }
        Effect::ConfAttend(session) => {
            let answer = lianxi_shared::conference::Rsvp::Attend;
            let r = node.rsvp(session, answer).await;
            let _ = net.send(NetCmd::Flush).await;
            send(Action::ConfDone(crate::tui::tabs::meetings::outcome(r)));
        }
        Effect::ConfAck(session) => {
            let r = node.ack_minutes(session).await;
            let _ = net.send(NetCmd::Flush).await;
            send(Action::ConfDone(crate::tui::tabs::meetings::outcome(r)));
        }
        Effect::ConfRemind(session, of) => {
            let r = node.remind_meeting(session, of, String::new()).await;
            let _ = net.send(NetCmd::Flush).await;
            send(Action::ConfDone(crate::tui::tabs::meetings::outcome(r)));
        }
        _ => {}
    }
    Ok(())
}
