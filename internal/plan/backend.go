package plan

import (
	"os"

	"bulwark/internal/balance"
	"bulwark/internal/config"
	"bulwark/internal/model"
)

// checkBalance refuses what the balancer cannot be built for.
func checkBalance(p *model.Proxy, ds *config.Diagnostics) {
	if p.LB.Algo != balance.RoundRobin || p.Disabled {
		return
	}
	active := 0
	for _, s := range p.Servers {
		if !s.Backup {
			active++
		}
	}
	if active > balance.MaxRRServers {
		ds.Alertf(p.BalancePos, "%s '%s': %v", p.Kind, p.Name, balance.ErrTooManyServers)
	}
}

// loadErrorPages reads the "errorfile" responses, inherited ones included.
func loadErrorPages(p *model.Proxy, ds *config.Diagnostics) map[int][]byte {
	pages := make(map[int][]byte, len(p.ErrorFiles))
	for code, path := range p.ErrorFiles {
		b, err := os.ReadFile(path)
		if err != nil {
			ds.Alertf(p.Pos, "%s '%s': errorfile %d : %v", p.Kind, p.Name, code, err)
			continue
		}
		pages[code] = b
	}
	return pages
}
