//! `shard_by` and a `linked` field (renamed by serde): the TableDef names their attributes.
use eventosaurus::Storable;

#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "classification", partition_key = subject_id, shard_by = workflow_id)]
pub struct Classification {
    pub subject_id: u64,
    #[serde(rename = "workflow")]
    pub workflow_id: u32,
    #[eventosaurus(linked)]
    #[serde(rename = "linked_subjects")]
    pub subjects: Vec<String>,
}

fn main() {
    assert_eq!(Classification::TABLE.shard_by, Some("workflow"));
    assert_eq!(Classification::TABLE.linked, Some("linked_subjects"));
}
