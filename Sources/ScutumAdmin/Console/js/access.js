// Who is signed in and what the console offers them, from `GET /auth/me`:
// - access "admin" (the master key, admin keys, SSO admins): every page and every control;
// - access "viewer": every page, no control that writes (the API refuses writes with 403 anyway);
// - access "team" (SSO users with team memberships): their teams' keys, teams, spend, and for a
//   team_admin the teams' budgets and guardrail events; members manage their own keys.
// The API is the authority: this only keeps the console from offering what it would refuse.

let caller = { sub: "", role: "admin", access: "admin", user: null, teams: [] };

/** Records the `/auth/me` answer. A gateway that does not send `access` only has admin keys. */
export function setCaller(me) {
  const access = me.access ?? (me.role === "viewer" ? "viewer" : "admin");
  caller = { sub: me.sub ?? "", role: me.role ?? access, access, user: me.user ?? null, teams: me.teams ?? [] };
  return caller;
}

/** The signed-in caller: `{sub, role, access, user, teams}`. */
export function currentCaller() {
  return caller;
}

/** Whether global writes (and every page's create, edit and delete controls) are offered. */
export function canWrite() {
  return caller.access === "admin";
}

/** Whether the caller sees only their teams' resources. */
export function isTeamScoped() {
  return caller.access === "team";
}

/** The caller's role in a team ("team_admin", "member"), or null. */
export function teamRole(teamID) {
  return caller.teams.find((team) => team.team_id === teamID)?.role ?? null;
}

/** Whether the caller may manage a team's members, keys and budgets. */
export function managesTeam(teamID) {
  return canWrite() || teamRole(teamID) === "team_admin";
}

/** Whether the caller is a team_admin of at least one team. */
export function isTeamAdmin() {
  return caller.teams.some((team) => team.role === "team_admin");
}

/**
 * Which callers see a page, by its `audience`: "all" (every caller), "staff" (admin and viewer),
 * "team_admin" (admin, viewer and team admins).
 */
export function mayOpen(audience) {
  if (audience === "all" || !isTeamScoped()) return true;
  return audience === "team_admin" && isTeamAdmin();
}

/** "alice@example.com (admin)", "bob@example.com (team_admin of Research)", or a key's "<id> (admin)". */
export function describeCaller() {
  const who = caller.user?.email ?? caller.sub;
  // A user's token role only says whether they were an admin when it was issued: their access is current.
  if (!isTeamScoped()) return `${who} (${caller.user ? caller.access : caller.role})`;
  const roles = caller.teams.map((team) => `${team.role} of ${team.team_alias ?? team.team_id}`);
  return `${who} (${roles.length ? roles.join(", ") : "no team"})`;
}
