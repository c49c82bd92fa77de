DROP TABLE sessions;
DROP TABLE login_failures;
DROP TABLE invites;
DROP TABLE memberships;
DROP TABLE teams;
DROP TABLE users;
