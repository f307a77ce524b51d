mod report;

fn main() {
    let _ = report::Format::Human;
}
