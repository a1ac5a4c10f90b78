#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "classification", partition_key = subject_id)]
pub struct Classification {
    pub subject_id: u64,
    #[eventosaurus(linked)]
    pub subjects: Vec<String>,
    #[eventosaurus(linked)]
    pub workflows: Vec<String>,
    #[serde(skip)]
    #[eventosaurus(linked)]
    pub cache: Vec<String>,
}

fn main() {}
