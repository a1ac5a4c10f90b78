use eventosaurus_testkit::events::PhoneCall;

fn main() {
    // person_id is a u64: a string is not a value for it.
    let _ = PhoneCall::query().by_person_id("5");
}
