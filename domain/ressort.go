package domain

// Ressort is a department of the Senate (or the Magistrat Bremerhaven) that owns entries.
type Ressort struct {
	Code string
	Name string
}

// CheckRessort names what breaks the rules of a Ressort's code and name.
func CheckRessort(code, name string) error {
	verr := &ValidationError{}
	if !ValidRessortCode(code) {
		verr.Add("code", "must be 2 to 16 of A-Z, 0-9 and '-'")
	}
	switch {
	case name == "":
		verr.Add("name", "is required")
	case len([]rune(name)) > 200:
		verr.Add("name", "must be at most 200 characters long")
	case !CleanText(name):
		verr.Add("name", "%s", messages["clean"])
	}
	return verr.Err()
}
