//! The scenario keys as flags of `qsim consume` and `qsim produce`, generated from the key
//! catalogue (see [`crate::scenario::flags`]): one flag per key, the key's meaning and allowed
//! values as its help, its value checked by the scenario's own resolution.

use std::marker::PhantomData;
use std::sync::LazyLock;

use clap::{Arg, ArgMatches, Args, Command, FromArgMatches};

use crate::scenario::flags::{FlagTable, KeyFlag, key_flags};

/// The keys of one table given on the command line, in catalogue order.
#[derive(Clone, Debug)]
pub(crate) struct KeyFlags<T> {
    pub values: Vec<(&'static str, String)>,
    table: PhantomData<T>,
}

/// Which table's keys a [`KeyFlags`] takes.
pub(crate) trait Table {
    const HEADING: &'static str;
    /// Each key's flag with its argument id (`key.max_messages`, apart from the ids of qsim's
    /// own flags) and long name. clap keeps both for the program's lifetime: made once.
    fn flags() -> &'static [(KeyFlag, &'static str, &'static str)];
}

#[derive(Clone, Debug)]
pub(crate) struct Consumers;

#[derive(Clone, Debug)]
pub(crate) struct Producers;

/// Keys whose flag would be a global flag of qsim's: `--max-messages` is the scenario size
/// limit of every subcommand, so the consumer's `max_messages` is `--receive-max-messages`.
const RENAMED: &[(&str, &str)] = &[("max_messages", "receive-max-messages")];

fn made(table: FlagTable) -> Vec<(KeyFlag, &'static str, &'static str)> {
    key_flags(table)
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
}

static CONSUMER_FLAGS: LazyLock<Vec<(KeyFlag, &'static str, &'static str)>> =
    LazyLock::new(|| made(FlagTable::Consumers));
static PRODUCER_FLAGS: LazyLock<Vec<(KeyFlag, &'static str, &'static str)>> =
    LazyLock::new(|| made(FlagTable::Producers));

impl Table for Consumers {
    const HEADING: &'static str = "[[consumers]] keys (see the README's reference)";
    fn flags() -> &'static [(KeyFlag, &'static str, &'static str)] {
        &CONSUMER_FLAGS
    }
}

impl Table for Producers {
    const HEADING: &'static str = "[[producers]] keys (see the README's reference)";
    fn flags() -> &'static [(KeyFlag, &'static str, &'static str)] {
        &PRODUCER_FLAGS
    }
}

impl<T: Table> FromArgMatches for KeyFlags<T> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let values = T::flags()
            .iter()
            .filter_map(|(flag, id, _)| {
                let value = matches.get_one::<String>(id)?;
                Some((flag.key, value.clone()))
            })
            .collect();
        Ok(KeyFlags {
            values,
            table: PhantomData,
        })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl<T: Table> Args for KeyFlags<T> {
    fn augment_args(command: Command) -> Command {
        T::flags()
            .iter()
            .fold(command, |command, (flag, id, long)| {
                command.arg(
                    Arg::new(*id)
                        .long(*long)
                        .value_name(flag.value_name)
                        .help(flag.help.clone())
                        .help_heading(T::HEADING),
                )
            })
    }

    fn augment_args_for_update(command: Command) -> Command {
        Self::augment_args(command)
    }
}
