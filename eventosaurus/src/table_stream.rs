//! The DynamoDB stream of an event table, as data.
//!
//! Event tables are created with a stream of view type `NEW_IMAGE` unless asked otherwise, so
//! that a [`consume`](crate::consume) consumer (or a Lambda) can react to every stored event.
//! [`StreamSpec`] is that part of the CreateTable request; [`stream_drift`] says how a live
//! table's stream differs from it (reported by `check-tables`). Turning a stream on for an
//! existing table is [`consume::enable_stream`](crate::consume::enable_stream).

use aws_sdk_dynamodb::types::{StreamSpecification, StreamViewType, TableDescription};
use serde::Serialize;

/// What a table's stream carries for each write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum StreamView {
    /// The item as written (what eventosaurus needs; the default).
    #[serde(rename = "NEW_IMAGE")]
    NewImage,
    /// The item before and after the write (also fine for a consumer).
    #[serde(rename = "NEW_AND_OLD_IMAGES")]
    NewAndOldImages,
    /// The item before the write only: a consumer cannot see new events.
    #[serde(rename = "OLD_IMAGE")]
    OldImage,
    /// The key attributes only: a consumer cannot decode events.
    #[serde(rename = "KEYS_ONLY")]
    KeysOnly,
}

impl StreamView {
    /// The API's name, e.g. `NEW_IMAGE`.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamView::NewImage => "NEW_IMAGE",
            StreamView::NewAndOldImages => "NEW_AND_OLD_IMAGES",
            StreamView::OldImage => "OLD_IMAGE",
            StreamView::KeysOnly => "KEYS_ONLY",
        }
    }

    /// Whether records carry the written item, which a consumer decodes.
    pub fn carries_new_image(self) -> bool {
        matches!(self, StreamView::NewImage | StreamView::NewAndOldImages)
    }

    fn to_sdk(self) -> StreamViewType {
        match self {
            StreamView::NewImage => StreamViewType::NewImage,
            StreamView::NewAndOldImages => StreamViewType::NewAndOldImages,
            StreamView::OldImage => StreamViewType::OldImage,
            StreamView::KeysOnly => StreamViewType::KeysOnly,
        }
    }

    fn from_sdk(view: &StreamViewType) -> Option<StreamView> {
        match view {
            StreamViewType::NewImage => Some(StreamView::NewImage),
            StreamViewType::NewAndOldImages => Some(StreamView::NewAndOldImages),
            StreamViewType::OldImage => Some(StreamView::OldImage),
            StreamViewType::KeysOnly => Some(StreamView::KeysOnly),
            _ => None,
        }
    }
}

impl std::fmt::Display for StreamView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `StreamSpecification` of a CreateTable request. Serializes to the API's JSON shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamSpec {
    /// Always `true`: a table without a stream has no `StreamSpecification` at all.
    pub stream_enabled: bool,
    /// What each record carries.
    pub stream_view_type: StreamView,
}

/// The stream event tables get by default: enabled, `NEW_IMAGE`.
pub const DEFAULT_STREAM: StreamSpec = StreamSpec {
    stream_enabled: true,
    stream_view_type: StreamView::NewImage,
};

/// The SDK's `StreamSpecification` for `spec` (`None`: no stream).
pub fn to_sdk(spec: Option<&StreamSpec>) -> Option<StreamSpecification> {
    let spec = spec?;
    StreamSpecification::builder()
        .stream_enabled(spec.stream_enabled)
        .stream_view_type(spec.stream_view_type.to_sdk())
        .build()
        .ok()
}

/// The live stream of a table: its view type when a stream is enabled, else `None`.
pub fn live_stream(live: &TableDescription) -> Option<StreamView> {
    let spec = live.stream_specification()?;
    if !spec.stream_enabled() {
        return None;
    }
    spec.stream_view_type().and_then(StreamView::from_sdk)
}

/// How a live table's stream differs from the definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StreamDrift {
    /// The view type the definition asks for.
    pub expected: StreamView,
    /// The live stream's view type; `None` when the table has no stream.
    pub actual: Option<StreamView>,
}

impl std::fmt::Display for StreamDrift {
    /// One line that says what to do, as `check-tables` prints it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.actual {
            None => write!(
                f,
                "no stream (expected {}): run create-tables --enable-streams",
                self.expected
            ),
            Some(actual) => write!(
                f,
                "stream of view type {actual}, expected {} (records must carry the new item); \
                 disable the stream, then run create-tables --enable-streams",
                self.expected
            ),
        }
    }
}

/// Compares a live table's stream with the expected one.
///
/// A table whose stream carries the new image (`NEW_IMAGE` or `NEW_AND_OLD_IMAGES`) is fine
/// when `NEW_IMAGE` is expected. A definition without a stream accepts any live stream.
pub fn stream_drift(expected: Option<&StreamSpec>, live: &TableDescription) -> Option<StreamDrift> {
    let expected = expected?;
    let actual = live_stream(live);
    let ok = match actual {
        Some(view) if expected.stream_view_type.carries_new_image() => view.carries_new_image(),
        Some(view) => view == expected.stream_view_type,
        None => false,
    };
    (!ok).then_some(StreamDrift {
        expected: expected.stream_view_type,
        actual,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table_with(spec: Option<StreamSpecification>) -> TableDescription {
        TableDescription::builder()
            .set_stream_specification(spec)
            .build()
    }

    #[test]
    fn default_spec_serializes_like_the_api() {
        let json = serde_json::to_value(DEFAULT_STREAM).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"StreamEnabled": true, "StreamViewType": "NEW_IMAGE"})
        );
    }

    #[test]
    fn drift_of_missing_and_wrong_streams() {
        let none = table_with(None);
        assert_eq!(
            stream_drift(Some(&DEFAULT_STREAM), &none),
            Some(StreamDrift {
                expected: StreamView::NewImage,
                actual: None
            })
        );
        let keys_only = table_with(to_sdk(Some(&StreamSpec {
            stream_enabled: true,
            stream_view_type: StreamView::KeysOnly,
        })));
        assert_eq!(
            stream_drift(Some(&DEFAULT_STREAM), &keys_only).map(|d| d.actual),
            Some(Some(StreamView::KeysOnly))
        );
        let both = table_with(to_sdk(Some(&StreamSpec {
            stream_enabled: true,
            stream_view_type: StreamView::NewAndOldImages,
        })));
        assert_eq!(stream_drift(Some(&DEFAULT_STREAM), &both), None);
        assert_eq!(
            stream_drift(
                Some(&DEFAULT_STREAM),
                &table_with(to_sdk(Some(&DEFAULT_STREAM)))
            ),
            None
        );
        let disabled = table_with(
            StreamSpecification::builder()
                .stream_enabled(false)
                .build()
                .ok(),
        );
        assert!(stream_drift(Some(&DEFAULT_STREAM), &disabled).is_some());
        assert_eq!(stream_drift(None, &none), None);
    }
}
