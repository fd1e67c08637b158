//! The event every source produces.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use wasmpush_model::event::{EventKind, UnknownEventKind};

/// One Buildbot event with its assembled payload.
///
/// For build events the payload is the build object in Buildbot's field
/// order (`buildid`, `number`, ..., `properties`, `buildrequest`, `buildset`,
/// `parentbuild`, `parentbuilder`, `builder`, `url`, and `steps` /
/// `prev_build` when fetched). For `buildset-complete` it is
/// `{"buildset": {...}, "builds": [...]}`. The payload is shared read-only:
/// every generator gets the same immutable snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceEvent {
    pub kind: EventKind,
    pub payload: Value,
    /// The master's configured name (`instance` of the source), when set:
    /// it names the master in [`SourceEvent::event_id`] instead of the URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
}

impl SourceEvent {
    /// An event of `kind` carrying `payload`.
    pub fn new(kind: EventKind, payload: Value) -> Self {
        SourceEvent { kind, payload, instance: None }
    }

    /// The same event, from the master named `instance` (if any).
    pub fn with_instance(mut self, instance: Option<String>) -> Self {
        self.instance = instance;
        self
    }

    /// Which master the event comes from: the configured `instance`, else
    /// the master's `buildbotURL` as found in the build's `url`
    /// (`http://ci.example:8010/#/builders/4/builds/3` →
    /// `http://ci.example:8010`), else `None` (a payload without a URL).
    pub fn master(&self) -> Option<String> {
        if let Some(name) = &self.instance {
            return Some(name.clone());
        }
        let build = match self.kind {
            EventKind::BuildsetComplete => self.payload.get("builds")?.as_array()?.first()?,
            _ => &self.payload,
        };
        let url = build.get("url")?.as_str()?;
        let base = url.split('#').next()?.trim_end_matches('/');
        (base.starts_with("http://") || base.starts_with("https://")).then(|| base.to_string())
    }

    /// The build object for build events, `None` for buildset events.
    pub fn build(&self) -> Option<&Map<String, Value>> {
        match self.kind {
            EventKind::BuildsetComplete => None,
            _ => self.payload.as_object(),
        }
    }

    fn int(&self, obj: Option<&Map<String, Value>>, key: &str) -> Option<i64> {
        obj?.get(key)?.as_i64()
    }

    /// The buildset id of the event (from the build's `buildset` or the
    /// buildset event's `buildset`).
    pub fn bsid(&self) -> Option<i64> {
        let bs = match self.kind {
            EventKind::BuildsetComplete => self.payload.get("buildset"),
            _ => self.payload.get("buildset"),
        };
        bs?.get("bsid")?.as_i64()
    }

    /// What reports must stay ordered by: the build request for build events
    /// (Buildbot serialises a build request's events, spec §b.2), the
    /// buildset for buildset events.
    pub fn ordering_key(&self) -> String {
        match self.kind {
            EventKind::BuildsetComplete => format!("buildset:{}", self.bsid().unwrap_or(-1)),
            _ => match self.int(self.build(), "buildrequestid") {
                Some(br) => format!("buildrequest:{br}"),
                None => format!("build:{}", self.int(self.build(), "buildid").unwrap_or(-1)),
            },
        }
    }

    /// A name for this event that is the same every time the same Buildbot
    /// event is seen, from whichever source (relay, master, replay):
    /// `build-finished:12@http://ci.example:8010`, `buildset-complete:4@prod`
    /// (see [`SourceEvent::master`]; without a master, just
    /// `build-finished:12`). Report ids (`webhook-id`) derive from it, so
    /// two masters, or one whose database was reset under a new name, never
    /// share an id and never have a report dropped as a duplicate.
    pub fn event_id(&self) -> String {
        let id = match self.kind {
            EventKind::BuildsetComplete => format!("{}:{}", self.kind, self.bsid().unwrap_or(-1)),
            _ => format!("{}:{}", self.kind, self.int(self.build(), "buildid").unwrap_or(-1)),
        };
        match self.master() {
            Some(master) => format!("{id}@{master}"),
            None => id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn event_ids_name_the_master() {
        let build = |url: &str| json!({"buildid": 12, "buildrequestid": 3, "url": url});
        let a = SourceEvent::new(EventKind::BuildFinished, build("http://ci-a.example:8010/#/builders/4/builds/3"));
        let b = SourceEvent::new(EventKind::BuildFinished, build("https://ci-b.example/bb/#/builders/4/builds/3"));
        assert_eq!(a.event_id(), "build-finished:12@http://ci-a.example:8010");
        assert_eq!(b.event_id(), "build-finished:12@https://ci-b.example/bb");
        let named = b.clone().with_instance(Some("prod".into()));
        assert_eq!(named.event_id(), "build-finished:12@prod");
        let bare = SourceEvent::new(EventKind::BuildNew, json!({"buildid": 12, "url": "not a url"}));
        assert_eq!(bare.event_id(), "build-new:12");
        let buildset = SourceEvent::new(
            EventKind::BuildsetComplete,
            json!({"buildset": {"bsid": 4}, "builds": [build("http://ci-a.example:8010/#/x")]}),
        );
        assert_eq!(buildset.event_id(), "buildset-complete:4@http://ci-a.example:8010");
        // The instance survives the inbox (JSON) round trip; absent, it is not written.
        let back: SourceEvent = serde_json::from_str(&serde_json::to_string(&named).unwrap()).unwrap();
        assert_eq!(back.event_id(), named.event_id());
        assert!(!serde_json::to_string(&a).unwrap().contains("instance"));
    }
}
