#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "classification", partition_key = subject_id, shard_by = workflows)]
pub struct Classification {
    pub subject_id: u64,
    pub workflows: Vec<String>,
}

fn main() {}
