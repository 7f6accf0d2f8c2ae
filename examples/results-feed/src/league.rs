//! The simulation: six teams, rounds of three matches played at the same time, minute by minute,
//! and the league table the finished matches make.
//!
//! No I/O and no clock, so the tests can drive it: `League::tick` advances one step with the
//! seeded random generator and says what happened, and `League::snapshot` is the whole
//! scoreboard as the pages want it. Publishing the whole snapshot (not "Lions scored") keeps the
//! pages simple and lets a page that joins late, or reconnects, draw everything from the last
//! publication alone.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

/// The competition's name in every snapshot.
pub const COMPETITION: &str = "Demo League";
/// The teams. Six make three matches a round and five rounds before every pair has met.
pub const TEAMS: [&str; 6] = ["Lions", "Owls", "Foxes", "Bears", "Wolves", "Hawks"];
/// When a match ends.
pub const FULL_TIME: u32 = 90;
/// Match minutes played per tick: a round takes 30 ticks, half a minute at the default interval.
pub const MINUTES_PER_TICK: u32 = 3;
/// Ticks the finished round stays on the board (nothing changes, so nothing is published)
/// before the next one kicks off.
pub const BREAK_TICKS: u32 = 5;
/// The chance of a goal in one minute, for the home and the away side: about 2.7 goals a match,
/// a little more of them at home, as in real leagues.
const HOME_GOAL_CHANCE: f64 = 0.017;
const AWAY_GOAL_CHANCE: f64 = 0.013;

/// Where a match is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Not kicked off yet.
    Scheduled,
    /// Being played.
    Live,
    /// Over; counted in the table.
    Finished,
}

/// One match, as the snapshot shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Match {
    /// Unique over the whole run (`m1`, `m2`, ...), so a page can tell a new match from an
    /// updated one.
    pub id: String,
    /// The home team.
    pub home: &'static str,
    /// The away team.
    pub away: &'static str,
    /// Goals of the home team.
    pub home_score: u32,
    /// Goals of the away team.
    pub away_score: u32,
    /// Minutes played, 0 to `FULL_TIME`.
    pub minute: u32,
    /// Where the match is.
    pub status: Status,
}

/// A team's line in the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Standing {
    /// The team.
    pub team: &'static str,
    /// Finished matches.
    pub played: u32,
    /// Matches won.
    pub won: u32,
    /// Matches drawn.
    pub drawn: u32,
    /// Matches lost.
    pub lost: u32,
    /// Goals scored.
    pub goals_for: u32,
    /// Goals conceded.
    pub goals_against: u32,
    /// Three for a win, one for a draw.
    pub points: u32,
}

impl Standing {
    /// A team that has played nothing yet.
    pub fn new(team: &'static str) -> Standing {
        Standing {
            team,
            played: 0,
            won: 0,
            drawn: 0,
            lost: 0,
            goals_for: 0,
            goals_against: 0,
            points: 0,
        }
    }

    /// Counts a finished match in which this team scored `scored` and conceded `conceded`.
    pub fn record(&mut self, scored: u32, conceded: u32) {
        self.played += 1;
        self.goals_for += scored;
        self.goals_against += conceded;
        match scored.cmp(&conceded) {
            std::cmp::Ordering::Greater => {
                self.won += 1;
                self.points += 3;
            }
            std::cmp::Ordering::Equal => {
                self.drawn += 1;
                self.points += 1;
            }
            std::cmp::Ordering::Less => self.lost += 1,
        }
    }

    /// Goals scored minus goals conceded.
    pub fn goal_difference(&self) -> i64 {
        i64::from(self.goals_for) - i64::from(self.goals_against)
    }
}

/// Sorts `table` by rank: points, then goal difference, then goals scored (all highest first),
/// then the team's name, so that equal teams always come out in the same order.
pub fn rank(table: &mut [Standing]) {
    table.sort_by(|a, b| {
        b.points
            .cmp(&a.points)
            .then(b.goal_difference().cmp(&a.goal_difference()))
            .then(b.goals_for.cmp(&a.goals_for))
            .then(a.team.cmp(b.team))
    });
}

/// What gets published: the whole scoreboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Snapshot {
    /// Always `COMPETITION`.
    pub competition: &'static str,
    /// The round being played (from 1).
    pub round: u32,
    /// When it was made, in Unix milliseconds.
    pub updated: u64,
    /// The round's matches.
    pub matches: Vec<Match>,
    /// The table, ranked: finished matches, and those in play at their current score.
    pub table: Vec<Standing>,
}

/// Something worth a line in the terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A round's matches were drawn up (scheduled, not kicked off yet).
    RoundScheduled(u32),
    /// The round's matches kicked off.
    KickOff(u32),
    /// `team` scored in match `id` at `minute`; the score after it.
    Goal {
        /// The match.
        id: String,
        /// Who scored.
        team: &'static str,
        /// When.
        minute: u32,
        /// The score after the goal, home first.
        score: (u32, u32),
    },
    /// Match `id` ended.
    FullTime(String),
}

/// What one tick did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tick {
    /// Nothing changed (the break between rounds): nothing to publish.
    Quiet,
    /// The scoreboard changed (at least a minute went by); `events` are the notable changes.
    Changed(Vec<Event>),
}

/// The league: the round on the board, the table, and the random generator that plays it.
pub struct League {
    round: u32,
    matches: Vec<Match>,
    /// Finished matches only; `snapshot` adds the live ones.
    table: Vec<Standing>,
    break_left: u32,
    rng: StdRng,
}

impl League {
    /// Round 1 drawn up, nothing played; the same `seed` plays the same league.
    pub fn new(seed: u64) -> League {
        League {
            round: 1,
            matches: fixtures(1),
            table: TEAMS.iter().map(|&team| Standing::new(team)).collect(),
            break_left: 0,
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// The round on the board.
    pub fn round(&self) -> u32 {
        self.round
    }

    /// The round's matches.
    pub fn matches(&self) -> &[Match] {
        &self.matches
    }

    /// The whole scoreboard, stamped `updated` (Unix milliseconds). The table is a live one,
    /// as results sites show it: matches in play count at their current score.
    pub fn snapshot(&self, updated: u64) -> Snapshot {
        let mut table = self.table.clone();
        for m in self.matches.iter().filter(|m| m.status == Status::Live) {
            for (team, scored, conceded) in [
                (m.home, m.home_score, m.away_score),
                (m.away, m.away_score, m.home_score),
            ] {
                if let Some(row) = table.iter_mut().find(|row| row.team == team) {
                    row.record(scored, conceded);
                }
            }
        }
        rank(&mut table);
        Snapshot {
            competition: COMPETITION,
            round: self.round,
            updated,
            matches: self.matches.clone(),
            table,
        }
    }

    /// One step: scheduled matches kick off and play `MINUTES_PER_TICK` minutes, live ones play
    /// on, finished ones count in the table; a finished round stays `BREAK_TICKS` ticks, then
    /// the next round is drawn up.
    pub fn tick(&mut self) -> Tick {
        let mut events = Vec::new();
        if self.matches.iter().all(|m| m.status == Status::Finished) {
            if self.break_left > 0 {
                self.break_left -= 1;
                return Tick::Quiet;
            }
            self.round += 1;
            self.matches = fixtures(self.round);
            events.push(Event::RoundScheduled(self.round));
            return Tick::Changed(events);
        }
        if self.matches.iter().any(|m| m.status == Status::Scheduled) {
            events.push(Event::KickOff(self.round));
        }
        for i in 0..self.matches.len() {
            self.play(i, &mut events);
        }
        if self.matches.iter().all(|m| m.status == Status::Finished) {
            self.break_left = BREAK_TICKS;
        }
        Tick::Changed(events)
    }

    /// Plays `MINUTES_PER_TICK` minutes of match `i` (or what is left of it).
    fn play(&mut self, i: usize, events: &mut Vec<Event>) {
        let m = &mut self.matches[i];
        if m.status == Status::Finished {
            return;
        }
        m.status = Status::Live;
        for _ in 0..MINUTES_PER_TICK {
            m.minute += 1;
            let mut scored = None;
            if self.rng.random_bool(HOME_GOAL_CHANCE) {
                m.home_score += 1;
                scored = Some(m.home);
            } else if self.rng.random_bool(AWAY_GOAL_CHANCE) {
                m.away_score += 1;
                scored = Some(m.away);
            }
            if let Some(team) = scored {
                events.push(Event::Goal {
                    id: m.id.clone(),
                    team,
                    minute: m.minute,
                    score: (m.home_score, m.away_score),
                });
            }
            if m.minute >= FULL_TIME {
                m.status = Status::Finished;
                events.push(Event::FullTime(m.id.clone()));
                let (home, away, home_score, away_score) =
                    (m.home, m.away, m.home_score, m.away_score);
                self.standing(home).record(home_score, away_score);
                self.standing(away).record(away_score, home_score);
                return;
            }
        }
    }

    fn standing(&mut self, team: &str) -> &mut Standing {
        let i = TEAMS
            .iter()
            .position(|&t| t == team)
            .unwrap_or_else(|| unreachable!("matches are made from TEAMS only"));
        &mut self.table[i]
    }
}

/// Round `round`'s matches by the circle method: team 0 stays put while the others rotate, so
/// every pair meets once in five rounds; the next five swap home and away.
pub fn fixtures(round: u32) -> Vec<Match> {
    let n = TEAMS.len();
    let index = (round - 1) as usize;
    let turn = index % (n - 1);
    let mut order = vec![0];
    order.extend((0..n - 1).map(|k| 1 + (k + turn) % (n - 1)));
    let swap = (index / (n - 1)) % 2 == 1;
    (0..n / 2)
        .map(|k| {
            let (mut home, mut away) = (order[k], order[n - 1 - k]);
            // Alternate team 0's venue from round to round, and the others' with it.
            if (turn + k) % 2 == 1 {
                std::mem::swap(&mut home, &mut away);
            }
            if swap {
                std::mem::swap(&mut home, &mut away);
            }
            Match {
                id: format!("m{}", index * (n / 2) + k + 1),
                home: TEAMS[home],
                away: TEAMS[away],
                home_score: 0,
                away_score: 0,
                minute: 0,
                status: Status::Scheduled,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
