-- One database per service (and Temporal's own, created by its auto-setup).
CREATE DATABASE intake;
CREATE DATABASE talent;
CREATE DATABASE evaluation;
