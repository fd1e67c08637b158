//! The buildbot source's main loop: connect, subscribe, catch up, follow;
//! reconnect on failure. See the parent module for the contract.

use super::assemble::{self, Ctx};
use super::cursor::{BuildCursor, Cursor, SetCursor};
use super::rest::{Api, Rest, RestError};
use super::track::Tracker;
use super::ws::{self, Frame};
use super::{BuildbotConfig, BuildbotError, Needs, StartFrom, Status};
use crate::event::{EventKind, SourceEvent};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// mq paths the source follows.
pub(super) const PATHS: [&str; 4] = ["builds/*/*", "builds/*/properties/update", "buildrequests/*/*", "buildsets/*/*"];
/// REST page size while catching up.
const PAGE: usize = 200;

/// Why a session ended.
enum End {
    /// The host dropped the receiver: stop.
    Stopped,
    /// Unrecoverable: stop with this error.
    Fatal(BuildbotError),
    /// Network or master trouble: reconnect after a backoff.
    Retry(String),
}

impl From<RestError> for End {
    fn from(e: RestError) -> End {
        End::Retry(e.to_string())
    }
}
impl From<ws::WsError> for End {
    fn from(e: ws::WsError) -> End {
        End::Retry(e.to_string())
    }
}

pub(super) struct Source {
    cfg: BuildbotConfig,
    base: url::Url,
    ws_url: url::Url,
    rest: Rest,
    /// The generators' union of needs, updated by hot reloads.
    needs: tokio::sync::watch::Receiver<Needs>,
    tx: crate::submit::EventSender,
    ctx: Option<Ctx>,
    cursor: Option<Cursor>,
    tracker: Tracker,
    status: tokio::sync::watch::Sender<Status>,
    /// Build ids missing from a catch-up listing below a present one, with
    /// when they were first missed: looked for again until `gap_window`.
    build_gaps: BTreeMap<i64, Instant>,
    /// The same for buildset ids.
    set_gaps: BTreeMap<i64, Instant>,
}

impl Source {
    pub(super) fn new(
        cfg: BuildbotConfig,
        base: url::Url,
        rest: Rest,
        needs: tokio::sync::watch::Receiver<Needs>,
        tx: crate::submit::EventSender,
        status: tokio::sync::watch::Sender<Status>,
    ) -> Result<Source, BuildbotError> {
        let mut ws_url = base.join("ws").map_err(|e| BuildbotError::Config { field: "url", reason: e.to_string() })?;
        let scheme = if base.scheme() == "https" { "wss" } else { "ws" };
        ws_url
            .set_scheme(scheme)
            .map_err(|_| BuildbotError::Config { field: "url", reason: "cannot derive the ws:// URL".into() })?;
        let cursor = Cursor::load(&cfg.state_file)?;
        if let Some(c) = &cursor
            && c.master != base.as_str()
        {
            tracing::warn!(state_file = %cfg.state_file.display(), was = %c.master, now = %base,
                    "buildbot: the state file was written for another master URL; continuing from it");
        }
        Ok(Source {
            cfg,
            base,
            ws_url,
            rest,
            needs,
            tx,
            ctx: None,
            cursor,
            tracker: Tracker::default(),
            status,
            build_gaps: BTreeMap::new(),
            set_gaps: BTreeMap::new(),
        })
    }

    pub(super) async fn run(mut self) -> Result<(), BuildbotError> {
        let mut attempt = 0u32;
        loop {
            let started = Instant::now();
            match self.session().await {
                End::Stopped => return Ok(()),
                End::Fatal(e) => return Err(e),
                End::Retry(reason) => {
                    if started.elapsed() > Duration::from_secs(60) {
                        attempt = 0;
                    }
                    let delay = self.cfg.reconnect.delay(attempt);
                    attempt = attempt.saturating_add(1);
                    tracing::warn!(master = %self.ws_url, %reason, retry_in_ms = delay.as_millis() as u64,
                        "buildbot: connection lost or refused; reconnecting");
                    self.status.send_replace(Status::Reconnecting { reason });
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = self.tx.closed() => return Ok(()),
                    }
                    self.tracker.reconnected();
                }
            }
        }
    }

    async fn session(&mut self) -> End {
        let timeout = self.cfg.request_timeout.max(Duration::from_secs(1));
        if let Err(e) = self.rest.login().await {
            return e.into();
        }
        if self.ctx.is_none() {
            let url = match &self.cfg.buildbot_url {
                Some(u) => u.clone(),
                None => match self.rest.get_json("config").await {
                    Ok(v) => match v.get("buildbotURL").and_then(Value::as_str) {
                        Some(u) => u.to_string(),
                        None => return End::Retry("GET config: no \"buildbotURL\" in the answer".into()),
                    },
                    Err(e) => return e.into(),
                },
            };
            self.ctx = Some(Ctx { buildbot_url: url });
        }
        if self.cursor.is_none() {
            match self.init_cursor().await {
                Ok(c) => {
                    if let Err(e) = c.save(&self.cfg.state_file) {
                        return End::Fatal(e.into());
                    }
                    self.cursor = Some(c);
                }
                Err(e) => return e,
            }
        }
        let mut conn = match ws::connect(&self.ws_url, self.rest.auth_headers(), timeout).await {
            Ok(c) => c,
            Err(e) => return e.into(),
        };
        if let Err(e) = conn.subscribe(&PATHS, timeout).await {
            return e.into();
        }
        tracing::info!(master = %self.ws_url, "buildbot: connected; catching up");
        self.status.send_replace(Status::CatchingUp);
        if let Err(end) = self.catch_up().await {
            return end;
        }
        tracing::info!(master = %self.ws_url, "buildbot: caught up; following events");
        self.status.send_replace(Status::Following);
        let ping = self.cfg.ping_interval.max(Duration::from_secs(1));
        let mut ticker = tokio::time::interval(ping);
        ticker.tick().await;
        let mut last_frame = Instant::now();
        let end = loop {
            tokio::select! {
                frame = conn.next_frame() => match frame {
                    Ok(f) => {
                        last_frame = Instant::now();
                        if let Err(end) = self.on_frame(f, &mut conn).await {
                            break end;
                        }
                    }
                    Err(e) => break e.into(),
                },
                _ = ticker.tick() => {
                    if let Err(end) = self.recheck_gaps().await {
                        break end;
                    }
                    if last_frame.elapsed() > ping * 2 + timeout {
                        break ws::WsError::Silent(last_frame.elapsed().as_secs()).into();
                    }
                    if let Err(e) = conn.ping().await {
                        break e.into();
                    }
                }
                _ = self.tx.closed() => break End::Stopped,
            }
        };
        conn.close().await;
        end
    }

    /// A cursor for a first start (no state file), per `start_from`.
    async fn init_cursor(&self) -> Result<Cursor, End> {
        let mut c = Cursor { version: 1, master: self.base.to_string(), ..Default::default() };
        if self.cfg.start_from == StartFrom::Beginning {
            c.builds = BuildCursor { next: 1, ..Default::default() };
            c.buildsets = SetCursor { next: 1, ..Default::default() };
            return Ok(c);
        }
        let max_build = max_id(&self.rest.list("builds?order=-buildid&limit=1", "builds").await?, "buildid");
        let running = ids(&self.rest.list("builds?complete=false", "builds").await?, "buildid");
        let next = running.iter().copied().min().unwrap_or(max_build + 1).min(max_build + 1);
        c.builds.next = next;
        for id in next..=max_build {
            if running.contains(&id) {
                c.builds.mark_new(id);
            } else {
                c.builds.mark_finished(id);
            }
        }
        let max_bs = max_id(&self.rest.list("buildsets?order=-bsid&limit=1", "buildsets").await?, "bsid");
        let open = ids(&self.rest.list("buildsets?complete=false", "buildsets").await?, "bsid");
        c.buildsets.next = open.iter().copied().min().unwrap_or(max_bs + 1).min(max_bs + 1);
        for id in c.buildsets.next..=max_bs {
            if !open.contains(&id) {
                c.buildsets.mark(id);
            }
        }
        tracing::info!(
            next_build = c.builds.next,
            next_buildset = c.buildsets.next,
            running = running.len(),
            "buildbot: no state file; starting from now"
        );
        Ok(c)
    }

    /// Reports what happened while we were not listening: every build at or
    /// above the cursor (new, then finished if it is), then every complete
    /// buildset. REST-only payloads (no websocket snapshot).
    async fn catch_up(&mut self) -> Result<(), End> {
        let start = self.cursor().builds.next;
        let mut expected = start;
        let mut offset = 0;
        loop {
            let page = self
                .rest
                .list(&format!("builds?buildid__ge={start}&order=buildid&limit={PAGE}&offset={offset}"), "builds")
                .await?;
            for b in &page {
                let Some(id) = b.get("buildid").and_then(Value::as_i64) else { continue };
                for gap in expected..id {
                    if !self.cursor().builds.finished_handled(gap) {
                        self.build_gaps.entry(gap).or_insert_with(Instant::now);
                    }
                }
                expected = expected.max(id + 1);
                if !self.cursor().builds.new_handled(id) {
                    self.emit(EventKind::BuildNew, id, false).await?;
                }
                if b.get("complete") == Some(&Value::Bool(true)) && !self.cursor().builds.finished_handled(id) {
                    self.emit(EventKind::BuildFinished, id, false).await?;
                }
            }
            if page.len() < PAGE {
                break;
            }
            offset += PAGE;
        }
        let start = self.cursor().buildsets.next;
        let mut expected = start;
        let mut offset = 0;
        loop {
            let page = self
                .rest
                .list(&format!("buildsets?bsid__ge={start}&order=bsid&limit={PAGE}&offset={offset}"), "buildsets")
                .await?;
            for bs in &page {
                let Some(id) = bs.get("bsid").and_then(Value::as_i64) else { continue };
                for gap in expected..id {
                    if !self.cursor().buildsets.handled(gap) {
                        self.set_gaps.entry(gap).or_insert_with(Instant::now);
                    }
                }
                expected = expected.max(id + 1);
                if bs.get("complete") == Some(&Value::Bool(true)) && !self.cursor().buildsets.handled(id) {
                    self.emit(EventKind::BuildsetComplete, id, false).await?;
                }
            }
            if page.len() < PAGE {
                break;
            }
            offset += PAGE;
        }
        self.save()?;
        self.recheck_gaps().await
    }

    async fn on_frame(&mut self, frame: Frame, conn: &mut ws::WsConn) -> Result<(), End> {
        let Frame::Event { key, msg } = frame else { return Ok(()) };
        let parts: Vec<&str> = key.split('/').collect();
        self.tracker.observe(&parts, &msg);
        let id = parts.get(1).and_then(|s| s.parse::<i64>().ok());
        let Some(id) = id else { return Ok(()) };
        match parts.as_slice() {
            ["builds", _, "new"] if !self.cursor().builds.new_handled(id) => {
                self.properties_flush_after_new(id, conn).await;
                self.emit(EventKind::BuildNew, id, true).await?;
            }
            ["builds", _, "finished"] => {
                if !self.cursor().builds.new_handled(id) {
                    self.emit(EventKind::BuildNew, id, false).await?;
                }
                if !self.cursor().builds.finished_handled(id) {
                    self.emit(EventKind::BuildFinished, id, true).await?;
                }
                self.tracker.build_done(id);
            }
            ["buildsets", _, "complete"] => {
                if !self.cursor().buildsets.handled(id) {
                    self.emit(EventKind::BuildsetComplete, id, true).await?;
                }
                self.tracker.buildset_done(id);
            }
            ["buildrequests", _, "complete" | "cancel"] => self.tracker.buildrequest_done(id),
            _ => {}
        }
        Ok(())
    }

    /// Buildbot flushes the build's properties once more right after the
    /// `new` event (`process/build.py`: setupBuild, setBuildProperties, then
    /// state "preparing worker"), and its reporter, still busy fetching,
    /// sees them: read ahead to the build's next frame and take the
    /// property updates before it into account for the `new` payload.
    /// Later ones (worker dirs, step results) stay out, as in Buildbot.
    async fn properties_flush_after_new(&mut self, id: i64, conn: &mut ws::WsConn) {
        let prefix = format!("builds/{id}/");
        let is_next_build_frame = |f: &Frame| matches!(f, Frame::Event { key, .. } if key.starts_with(&prefix) && key.matches('/').count() == 2);
        let ahead = conn.lookahead(is_next_build_frame, Duration::from_secs(2)).await;
        let props_key = format!("builds/{id}/properties/update");
        for f in ahead {
            if let Frame::Event { key, msg } = f
                && key == props_key
            {
                let parts: Vec<&str> = key.split('/').collect();
                self.tracker.observe(&parts, &msg);
            }
        }
    }

    /// Looks again for the ids a catch-up found missing: one that appeared
    /// is reported (new, and finished if it is complete; a running build's
    /// finished event comes live); one still missing after `gap_window` is
    /// given up, with a warning naming it, so the cursor can move on.
    async fn recheck_gaps(&mut self) -> Result<(), End> {
        let window = self.cfg.gap_window;
        let mut given_up = (Vec::new(), Vec::new());
        for (id, since) in self.build_gaps.clone() {
            if self.cursor().builds.finished_handled(id) {
                self.build_gaps.remove(&id);
                continue;
            }
            let found = self.rest.list(&format!("builds?buildid={id}"), "builds").await?;
            match found.first() {
                Some(b) => {
                    self.build_gaps.remove(&id);
                    tracing::info!(build = id, "buildbot: a build missing from the catch-up has appeared");
                    if !self.cursor().builds.new_handled(id) {
                        self.emit(EventKind::BuildNew, id, false).await?;
                    }
                    if b.get("complete") == Some(&Value::Bool(true)) && !self.cursor().builds.finished_handled(id) {
                        self.emit(EventKind::BuildFinished, id, false).await?;
                    }
                }
                None if since.elapsed() >= window => {
                    self.build_gaps.remove(&id);
                    self.cursor_mut().builds.mark_finished(id);
                    given_up.0.push(id);
                }
                None => {}
            }
        }
        for (id, since) in self.set_gaps.clone() {
            if self.cursor().buildsets.handled(id) {
                self.set_gaps.remove(&id);
                continue;
            }
            let found = self.rest.list(&format!("buildsets?bsid={id}"), "buildsets").await?;
            match found.first() {
                Some(bs) => {
                    // Found: reported now if complete, else its `complete`
                    // event comes live.
                    self.set_gaps.remove(&id);
                    let complete = bs.get("complete") == Some(&Value::Bool(true));
                    if complete {
                        self.emit(EventKind::BuildsetComplete, id, false).await?;
                    }
                }
                None if since.elapsed() >= window => {
                    self.set_gaps.remove(&id);
                    self.cursor_mut().buildsets.mark(id);
                    given_up.1.push(id);
                }
                None => {}
            }
        }
        if !given_up.0.is_empty() || !given_up.1.is_empty() {
            tracing::warn!(builds = ?given_up.0, buildsets = ?given_up.1, window = ?window,
                "buildbot: giving up on ids missing from the master for longer than gap_window; they are not reported");
            self.save()?;
        }
        Ok(())
    }

    /// Assembles (retrying with backoff), sends and records one event.
    async fn emit(&mut self, kind: EventKind, id: i64, live: bool) -> Result<(), End> {
        let needs = self.needs.borrow().clone();
        if needs.kinds.contains(&kind) {
            let event_name = format!("{kind}:{id}");
            let mut attempt = 0u32;
            let payload = loop {
                let ctx = self.ctx.clone().expect("ctx is set before any event");
                let snap = if live { Some(&self.tracker) } else { None };
                let res = match kind {
                    EventKind::BuildsetComplete => assemble::buildset_payload(&self.rest, &ctx, id, snap, &needs).await,
                    _ => assemble::build_payload(&self.rest, &ctx, id, kind, snap, &needs).await,
                };
                match res {
                    Ok(p) => break Some(p),
                    Err(e) => {
                        attempt += 1;
                        if self.cfg.give_up_after.is_some_and(|max| attempt >= max) {
                            tracing::error!(event = %event_name, attempts = attempt, reason = %e,
                                "buildbot: giving up on this event (give_up_after); it will not be reported");
                            break None;
                        }
                        let delay = self.cfg.retry.delay(attempt - 1);
                        tracing::warn!(event = %event_name, attempt, reason = %e, retry_in_ms = delay.as_millis() as u64,
                            "buildbot: cannot assemble the payload; retrying");
                        tokio::select! {
                            _ = tokio::time::sleep(delay) => {}
                            _ = self.tx.closed() => return Err(End::Stopped),
                        }
                    }
                }
            };
            if let Some(payload) = payload {
                // The cursor moves past this event only once the host has
                // committed it: a crash before that reports it again.
                match crate::submit::submit(
                    &self.tx,
                    SourceEvent::new(kind, payload).with_instance(self.cfg.instance.clone()),
                )
                .await
                {
                    Ok(()) => {}
                    Err(crate::submit::SubmitError::Closed) => return Err(End::Stopped),
                    Err(e @ crate::submit::SubmitError::Refused(_)) => {
                        return Err(End::Fatal(BuildbotError::NotStored(e.to_string())));
                    }
                }
                tracing::debug!(event = %event_name, live, "buildbot: event sent");
            }
        }
        let c = self.cursor_mut();
        match kind {
            EventKind::BuildNew => c.builds.mark_new(id),
            EventKind::BuildFinished => c.builds.mark_finished(id),
            EventKind::BuildsetComplete => c.buildsets.mark(id),
        }
        self.save()
    }

    fn save(&self) -> Result<(), End> {
        self.cursor().save(&self.cfg.state_file).map_err(|e| End::Fatal(e.into()))
    }

    fn cursor(&self) -> &Cursor {
        self.cursor.as_ref().expect("cursor is loaded before events are handled")
    }

    fn cursor_mut(&mut self) -> &mut Cursor {
        self.cursor.as_mut().expect("cursor is loaded before events are handled")
    }
}

fn ids(items: &[Value], key: &str) -> Vec<i64> {
    items.iter().filter_map(|v| v.get(key).and_then(Value::as_i64)).collect()
}

fn max_id(items: &[Value], key: &str) -> i64 {
    ids(items, key).into_iter().max().unwrap_or(0)
}
