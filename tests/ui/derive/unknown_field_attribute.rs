#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "classification", partition_key = subject_id)]
pub struct Classification {
    pub subject_id: u64,
    #[eventosaurus(link)]
    pub subjects: Vec<String>,
}

fn main() {}
