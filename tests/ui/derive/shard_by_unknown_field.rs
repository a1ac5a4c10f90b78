#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "classification", partition_key = subject_id, shard_by = workflow)]
pub struct Classification {
    pub subject_id: u64,
    pub workflow_id: String,
}

fn main() {}
