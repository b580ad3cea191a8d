//! The security questions a contractor chooses from at the forced change and at registration.
//! The answer is stored hashed and is never a way to recover an account by itself.

/// (id, English, Spanish). Ids are stored; wording may change.
pub const QUESTIONS: &[(&str, &str, &str)] = &[
    (
        "first_pet",
        "What was the name of your first pet?",
        "¿Cómo se llamaba su primera mascota?",
    ),
    (
        "birth_city",
        "In what city were you born?",
        "¿En qué ciudad nació?",
    ),
    (
        "first_car",
        "What was the make of your first car?",
        "¿De qué marca fue su primer coche?",
    ),
    (
        "elementary_school",
        "What was the name of your elementary school?",
        "¿Cómo se llamaba su escuela primaria?",
    ),
    (
        "first_job",
        "Where did you work your first job?",
        "¿Dónde tuvo su primer trabajo?",
    ),
    (
        "favorite_team",
        "What is your favorite sports team?",
        "¿Cuál es su equipo deportivo favorito?",
    ),
];

pub fn is_known(id: &str) -> bool {
    QUESTIONS.iter().any(|(q, _, _)| *q == id)
}

/// The form an answer is hashed in: case, surrounding and repeated spaces do not matter.
pub fn normalize_answer(answer: &str) -> String {
    answer
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}
