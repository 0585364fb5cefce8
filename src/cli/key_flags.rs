//! The scenario keys as flags of `qsim consume`, generated from the key catalogue (see
//! [`crate::scenario::flags`]): one flag per key, the key's meaning and allowed values as its
//! help, its value checked by the scenario's own resolution.

use std::sync::LazyLock;

use clap::{Arg, ArgMatches, Args, Command, FromArgMatches};

use crate::scenario::flags::{FlagTable, KeyFlag, key_flags};

/// The `[[consumers]]` keys given on the command line, in catalogue order.
#[derive(Clone, Debug, Default)]
pub(crate) struct ConsumerKeyFlags {
    pub values: Vec<(&'static str, String)>,
}

const HEADING: &str = "[[consumers]] keys (see the README's reference)";

/// Keys whose flag would be a global flag of qsim's: `--max-messages` is the scenario size
/// limit of every subcommand, so the consumer's `max_messages` is `--receive-max-messages`.
const RENAMED: &[(&str, &str)] = &[("max_messages", "receive-max-messages")];

/// Each consumer key's flag with its argument id (`key.max_messages`, apart from the ids of
/// qsim's own flags) and long name. clap keeps both for the program's lifetime: made once.
static CONSUMER_FLAGS: LazyLock<Vec<(KeyFlag, &'static str, &'static str)>> = LazyLock::new(|| {
    key_flags(FlagTable::Consumers)
        .into_iter()
        .map(|flag| {
            let id: &'static str = format!("key.{}", flag.key).leak();
            let long = RENAMED
                .iter()
                .find(|(key, _)| *key == flag.key)
                .map_or(flag.flag.clone(), |(_, renamed)| (*renamed).to_owned());
            (flag, id, &*long.leak())
        })
        .collect()
});

impl FromArgMatches for ConsumerKeyFlags {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let values = CONSUMER_FLAGS
            .iter()
            .filter_map(|(flag, id, _)| {
                let value = matches.get_one::<String>(id)?;
                Some((flag.key, value.clone()))
            })
            .collect();
        Ok(ConsumerKeyFlags { values })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl Args for ConsumerKeyFlags {
    fn augment_args(command: Command) -> Command {
        CONSUMER_FLAGS
            .iter()
            .fold(command, |command, (flag, id, long)| {
                command.arg(
                    Arg::new(*id)
                        .long(*long)
                        .value_name(flag.value_name)
                        .help(flag.help.clone())
                        .help_heading(HEADING),
                )
            })
    }

    fn augment_args_for_update(command: Command) -> Command {
        Self::augment_args(command)
    }
}
