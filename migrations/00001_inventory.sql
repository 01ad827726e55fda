-- Initial schema: Ressorts, the Anlage zu § 1 IDNrG, and the inventory of registers and
-- Onlinedienste with their readiness in idnr, noots and dsc.
--
-- The rules the database can hold are held here too, so that no code path (a script with psql,
-- a future bug) can store what the API would refuse. Codes and keys use COLLATE "C" so that
-- sorting and keyset pagination follow byte order whatever the cluster's locale.

-- +goose Up
CREATE DOMAIN stage AS text
    CHECK (VALUE IN ('not_started', 'planned', 'in_progress', 'testing', 'live', 'not_applicable'));

CREATE TABLE ressorts (
    code        text COLLATE "C" PRIMARY KEY CHECK (code ~ '^[A-Z0-9-]{2,16}$'),
    name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- The Ressorts of the Lenku VD (DOMAIN.md); administrators add more through the API.
INSERT INTO ressorts (code, name) VALUES
  ('SF', 'Senator für Finanzen'),
  ('SK', 'Senatskanzlei'),
  ('SIS', 'Senator für Inneres und Sport'),
  ('SBMS', 'Senatorin für Bau, Mobilität und Stadtentwicklung'),
  ('SASJI', 'Senatorin für Arbeit, Soziales, Jugend und Integration'),
  ('SJV', 'Senatorin für Justiz und Verfassung'),
  ('SKB', 'Senatorin für Kinder und Bildung'),
  ('SWHT', 'Senatorin für Wirtschaft, Häfen und Transformation'),
  ('MAG-BHV', 'Magistrat Bremerhaven'),
  ('ZGF', 'Zentralstelle der Landesfrauenbeauftragten');

-- Anlage zu § 1 IDNrG: public law text shipped as reference data (migrations/idnrg_anlage.csv;
-- a test keeps this table equal to that file).
CREATE TABLE idnrg_anlage (
    nr           integer PRIMARY KEY CHECK (nr BETWEEN 1 AND 50),
    name         text NOT NULL,
    legal_basis  text NOT NULL DEFAULT '',
    level        text NOT NULL DEFAULT ''
);

INSERT INTO idnrg_anlage (nr, name, legal_basis, level) VALUES
  (1, 'Melderegister', '', 'Kommune'),
  (2, 'elektronisch geführte Personenstandsregister', '', 'Kommune'),
  (3, 'Ausländerzentralregister', '', 'Bund'),
  (4, 'Stammsatzdatei der Datenstelle der Rentenversicherung gemäß § 150 des Sechsten Buches Sozialgesetzbuch', '§ 150 SGB VI', 'Bund'),
  (5, 'Versichertenkonten der Rentenversicherungsträger gemäß § 149 des Sechsten Buches Sozialgesetzbuch', '§ 149 SGB VI', 'Bund/Land'),
  (6, 'Rentenzahlbestandsregister des Renten-Services der Deutschen Post AG', '', 'Bund'),
  (7, 'die Stammsatzdatei der landwirtschaftlichen Sozialversicherung nach § 62 des Gesetzes über die Alterssicherung der Landwirte', '§ 62 ALG', 'Bund'),
  (8, 'bei den berufsständischen Versorgungswerken systematisch geführte personenbezogene Datenbestände zu Leistungsberechtigten', '', 'Land'),
  (9, 'bei der Künstlersozialkasse systematisch geführte personenbezogene Datenbestände zu den nach näherer Bestimmung des Künstlersozialversicherungsgesetzes versicherten Künstlern und Publizisten', 'KSVG', 'Bund'),
  (10, 'bei der Bundesagentur für Arbeit systematisch geführte personenbezogene Datenbestände nach dem Dritten Buch Sozialgesetzbuch', 'SGB III', 'Bund'),
  (11, 'bei den Trägern der Grundsicherung für Arbeitsuchende systematisch geführte personenbezogene Datenbestände nach dem Zweiten Buch Sozialgesetzbuch', 'SGB II', 'Bund/Kommune'),
  (12, 'Dateisystem der Beschäftigungsbetriebe nach § 18i des Vierten Buches Sozialgesetzbuch', '§ 18i SGB IV', 'Bund'),
  (13, 'eID-Karte-Register', '', ''),
  (14, 'Zentrales Unternehmerverzeichnis der gesetzlichen Unfallversicherung', '', 'Bund'),
  (15, 'Zentrales Fahrzeugregister', '', 'Bund'),
  (16, 'Zentrales Fahrerlaubnisregister', '', 'Bund'),
  (17, 'Fahreignungsregister', '', 'Bund'),
  (18, 'Lehrlingsrolle gemäß § 28 der Handwerksordnung', '§ 28 HwO', 'Land'),
  (19, 'Handwerksrolle gemäß § 6 der Handwerksordnung', '§ 6 HwO', 'Land'),
  (20, 'Verzeichnis der Inhaber von Betrieben eines zulassungsfreien oder eines handwerksähnlichen Gewerbes gemäß § 19 der Handwerksordnung', '§ 19 HwO', 'Land'),
  (21, 'Personalausweisregister', '', 'Kommune'),
  (22, 'Passregister', '', 'Kommune'),
  (23, 'Ausländerdateien nach § 62 der Aufenthaltsverordnung', '§ 62 AufenthV', 'Kommune'),
  (24, 'Verzeichnis der Berufsausbildungsverhältnisse nach § 34 des Berufsbildungsgesetzes', '§ 34 BBiG', 'Land'),
  (25, 'bei den allgemeinbildenden und beruflichen Schulen, Schulbehörden, Bildungseinrichtungen nach § 2 des Hochschulstatistikgesetzes systematisch geführte personenbezogene Datenbestände zu Bildungsteilnehmenden', '§ 2 HStatG', 'Land'),
  (26, 'Versichertenverzeichnis der Krankenkassen', '', 'Bund/Land'),
  (27, 'Bundeszentralregister', '', 'Bund'),
  (28, 'Nationales Waffenregister', '', 'Bund'),
  (29, 'bei den Elterngeldstellen nach § 12 des Bundeselterngeld- und Elternzeitgesetzes systematisch geführte personenbezogene Datenbestände zu Leistungsempfängern', '§ 12 BEEG', 'Land'),
  (30, 'Verzeichnis der gemäß § 14 der Gewerbeordnung angezeigten Gewerbebetriebe', '§ 14 GewO', 'Kommune'),
  (31, 'Gewerbezentralregister', '', 'Bund'),
  (32, 'Versichertenverzeichnis der Pflegekassen', '', 'Bund/Land'),
  (33, 'Register für Grundsicherung im Alter', '', 'Kommune'),
  (34, 'Register für ergänzende Hilfe zum Lebensunterhalt', '', ''),
  (35, 'bei den Wohngeldbehörden nach § 24 des Wohngeldgesetzes systematisch geführte personenbezogene Datenbestände zu Leistungsempfängern', '§ 24 WoGG', 'Kommune'),
  (36, 'bei den Ämtern für Ausbildungsförderung und dem Bundesverwaltungsamt nach den §§ 39 und 40 des Bundesausbildungsförderungsgesetzes systematisch geführte personenbezogene Datenbestände zu Leistungsempfängern', '§§ 39, 40 BAföG', 'Land/Bund'),
  (37, 'Register der Versorgungsämter', '', 'Land'),
  (38, 'bei den für die Durchführung des Asylbewerberleistungsgesetzes zuständigen Behörden nach den §§ 10 und 10a des Asylbewerberleistungsgesetzes systematisch geführte personenbezogene Datenbestände zu Leistungsempfängern', '§§ 10, 10a AsylbLG', 'Land/Kommune'),
  (39, 'Vermittlerregister nach § 11a der Gewerbeordnung', '§ 11a GewO', ''),
  (40, 'Berufsregister der Steuerberater und Wirtschaftsprüfer', '', 'Bund/Land'),
  (41, 'Beitragskontendatenbank', '', ''),
  (42, 'bei den öffentlichen Arbeitgebern in Bund, Ländern und Kommunen nach § 2 Absatz 1 des Finanz- und Personalstatistikgesetzes systematisch geführte personenbezogene Datenbestände über die Beschäftigten', '§ 2 Abs. 1 FPStatG', 'Bund/Land/Kommune'),
  (43, 'sämtliche von den Architekten- und Ingenieurkammern der Länder auf gesetzlicher Grundlage zu führenden Listen, Verzeichnisse oder Register', '', 'Land'),
  (44, 'bei den Industrie- und Handelskammern geführten Verzeichnisse ihrer Mitglieder nach § 2 des Gesetzes zur vorläufigen Regelung des Rechts der Industrie- und Handelskammern', '§ 2 IHKG', 'Land'),
  (45, 'Krisenvorsorgeliste nach § 6 Absatz 3 des Konsulargesetzes', '§ 6 Abs. 3 KonsG', 'Bund'),
  (46, 'Zentrale Luftfahrerdatei', '', 'Bund'),
  (47, 'Register für Betreiber von unbemannten und zulassungspflichtigen Fluggeräten', '', 'Bund'),
  (48, 'Luftfahrzeugrolle nach § 64 Absatz 1 Nummer 1 des Luftverkehrsgesetzes', '§ 64 Abs. 1 Nr. 1 LuftVG', 'Bund'),
  (49, 'Zulassungsregister nach § 14 des Umweltauditgesetzes', '§ 14 UAG', 'Bund'),
  (50, 'Verzeichnis über die Bescheinigungen über die Fahrzeugführerschulung nach Abschnitt 8.2.2 der Vorschriften für die Ausbildung der Fahrzeugbesatzung (sog. ADR-Infodatenbank) gemäß § 14 Absatz 3 der Gefahrgutverordnung Straße, Eisenbahn und Binnenschifffahrt', '§ 14 Abs. 3 GGVSEB (Abschnitt 8.2.2 ADR)', '');

-- Registers (kind 'register') and Onlinedienste (kind 'onlinedienst') share one table: they
-- share the address, the readiness and every list, report and history query; the columns
-- only one kind uses must stay empty for the other.
CREATE TABLE entries (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind             text NOT NULL CHECK (kind IN ('register', 'onlinedienst')),
    ressort          text COLLATE "C" NOT NULL REFERENCES ressorts (code),
    key              text COLLATE "C" NOT NULL CHECK (key ~ '^[a-z0-9][a-z0-9-]*$' AND char_length(key) <= 64),
    name             text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    description      text NOT NULL DEFAULT '' CHECK (char_length(description) <= 4000),
    -- register only
    idnrg_anlage_nr  integer REFERENCES idnrg_anlage (nr),
    legal_basis      text NOT NULL DEFAULT '' CHECK (char_length(legal_basis) <= 500),
    fachverfahren    text NOT NULL DEFAULT '' CHECK (char_length(fachverfahren) <= 200),
    contact          text NOT NULL DEFAULT '' CHECK (char_length(contact) <= 254),
    -- onlinedienst only
    leika_keys       text[] NOT NULL DEFAULT '{}',
    url              text NOT NULL DEFAULT '' CHECK (url = '' OR url LIKE 'https://%'),
    -- copy of the nachweise rows below, in the order the Ressort gave them
    nachweise_from   text[] NOT NULL DEFAULT '{}',
    idnr_stage         stage NOT NULL DEFAULT 'not_started',
    idnr_target_date   date,
    idnr_note          text NOT NULL DEFAULT '' CHECK (char_length(idnr_note) <= 2000),
    idnr_evidence_url  text NOT NULL DEFAULT '' CHECK (char_length(idnr_evidence_url) <= 2000),
    noots_stage         stage NOT NULL DEFAULT 'not_started',
    noots_target_date   date,
    noots_note          text NOT NULL DEFAULT '' CHECK (char_length(noots_note) <= 2000),
    noots_evidence_url  text NOT NULL DEFAULT '' CHECK (char_length(noots_evidence_url) <= 2000),
    dsc_stage         stage NOT NULL DEFAULT 'not_started',
    dsc_target_date   date,
    dsc_note          text NOT NULL DEFAULT '' CHECK (char_length(dsc_note) <= 2000),
    dsc_evidence_url  text NOT NULL DEFAULT '' CHECK (char_length(dsc_evidence_url) <= 2000),
    version          bigint NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    updated_by       text NOT NULL DEFAULT '',
    CONSTRAINT entries_address UNIQUE (kind, ressort, key),
    CONSTRAINT entries_id_kind UNIQUE (id, kind),
    CONSTRAINT entries_register_fields CHECK (kind = 'register' OR
        (idnrg_anlage_nr IS NULL AND legal_basis = '' AND fachverfahren = '' AND contact = '')),
    CONSTRAINT entries_onlinedienst_fields CHECK (kind = 'onlinedienst' OR
        (leika_keys = '{}' AND url = '' AND nachweise_from = '{}')),
    CONSTRAINT entries_idnr_not_applicable_note CHECK (idnr_stage <> 'not_applicable' OR btrim(idnr_note) <> ''),
    CONSTRAINT entries_noots_not_applicable_note CHECK (noots_stage <> 'not_applicable' OR btrim(noots_note) <> ''),
    CONSTRAINT entries_dsc_not_applicable_note CHECK (dsc_stage <> 'not_applicable' OR btrim(dsc_note) <> '')
);

-- Which registers an Onlinedienst draws Nachweise from. The kind columns let the foreign keys
-- insist that the consumer is an Onlinedienst and the provider a register; RESTRICT keeps a
-- register from being deleted while it is still named.
CREATE TABLE nachweise (
    onlinedienst_id    bigint NOT NULL,
    onlinedienst_kind  text NOT NULL DEFAULT 'onlinedienst' CHECK (onlinedienst_kind = 'onlinedienst'),
    register_id        bigint NOT NULL,
    register_kind      text NOT NULL DEFAULT 'register' CHECK (register_kind = 'register'),
    PRIMARY KEY (onlinedienst_id, register_id),
    FOREIGN KEY (onlinedienst_id, onlinedienst_kind) REFERENCES entries (id, kind) ON DELETE CASCADE,
    FOREIGN KEY (register_id, register_kind) REFERENCES entries (id, kind) ON DELETE RESTRICT
);
CREATE INDEX nachweise_register ON nachweise (register_id);

-- +goose Down
DROP TABLE nachweise;
DROP TABLE entries;
DROP TABLE idnrg_anlage;
DROP TABLE ressorts;
DROP DOMAIN stage;
