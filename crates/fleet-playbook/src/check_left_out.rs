//! Include candidates left out of a play because their tasks use
//! variables undefined where the include is.

use crate::Task;
use crate::error::PlaybookError;
use crate::play::ParsedPlay;

/// A candidate file of a templated include whose tasks use a variable
/// undefined at the include.
pub(super) struct LeftOut {
    pub(super) include: usize,
    pub(super) file: usize,
    pub(super) error: PlaybookError,
}

impl LeftOut {
    pub(super) fn holds(&self, task: &Task) -> bool {
        task.included
            .iter()
            .any(|part| part.include == self.include && part.file == self.file)
    }
}

/// Leaves out of the play the candidate files of templated includes that
/// use variables undefined at the include: each may be meant for another
/// include of the same name pattern (a role's `tasks/` holds the files of
/// several includes). The include remembers why, and fails on a host whose
/// name renders to one. An include none of whose files is left is an error:
/// that of its file checked last.
pub(super) fn leave_out(
    parsed: &mut ParsedPlay,
    left_out: Vec<LeftOut>,
) -> Result<(), PlaybookError> {
    if left_out.is_empty() {
        return Ok(());
    }
    let keep: Vec<bool> = parsed
        .play
        .tasks
        .iter()
        .map(|task| !left_out.iter().any(|left| left.holds(task)))
        .collect();
    let mut index = 0;
    parsed.task_nodes.retain(|_| {
        index += 1;
        keep[index - 1]
    });
    let mut index = 0;
    parsed.play.tasks.retain(|_| {
        index += 1;
        keep[index - 1]
    });
    let mut first_error: Vec<(usize, PlaybookError)> = Vec::new();
    for left in left_out {
        let Some(include) = parsed
            .play
            .tasks
            .iter_mut()
            .filter_map(|task| task.include.as_mut())
            .find(|include| include.id == left.include)
        else {
            continue;
        };
        include.left_out.push((left.file, left.error.to_string()));
        if include.left_out.len() == include.files.len() {
            first_error.push((left.include, left.error));
        }
    }
    match first_error.into_iter().next() {
        Some((_, error)) => Err(error),
        None => Ok(()),
    }
}
